# Extra lme4 fixtures for panelre.mixed, computed by R's lme4 (nobody on this project wrote it).
# Run from the repository root:   Rscript tests/reference/mixed/make_mixed_reference.R
# Needs Debian's r-base-core r-cran-lme4 r-cran-jsonlite.  Writes
#   tests/reference/mixed/lme4_extra.json            (one case per fit, with the R call beside it)
#   tests/reference/mixed/sleepstudy_unbalanced.csv  (exactly the rows R used for the unbalanced cases)
suppressMessages({
  library(lme4); library(jsonlite)
})
options(warn = 1)
out_dir <- file.path("tests", "reference", "mixed")
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6))
named <- function(v) { l <- as.list(as.numeric(v)); names(l) <- names(v); l }
matrix_of <- function(m) {
  m <- as.matrix(m)
  list(names = colnames(m), values = lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ])))
}

# ---------- data ----------
dietox <- read.csv(file.path("datasets", "dietox.csv"))
sleep <- read.csv(file.path("datasets", "sleepstudy.csv"))
# A deterministic unbalanced panel: subject k (1..18, in order of appearance) keeps its first
# 10 - (k %% 5) days, then every 7th remaining row is removed; the last subject keeps 2 rows.
subj <- match(sleep$Subject, unique(sleep$Subject))
keep <- sleep$Days < 10 - (subj %% 5)
keep[subj == max(subj)] <- sleep$Days[subj == max(subj)] < 2
unb <- sleep[keep, ]
unb <- unb[seq_len(nrow(unb)) %% 7 != 0, ]
rownames(unb) <- NULL
write.csv(unb, file.path(out_dir, "sleepstudy_unbalanced.csv"), row.names = FALSE)
# Simulated data with boundary (singular) optima, written by panelre's tests' author with numpy
# (seed 2; y has no group effect, y2 a random intercept but no random slope).
sim <- read.csv(file.path(out_dir, "simulated_singular.csv"))

# ---------- fits ----------
cases <- list()
fit_case <- function(id, dataset, f, d, reml) {
  call <- sprintf(
    "lmer(%s, data = %s, REML = %s, control = lmerControl(optimizer = \"bobyqa\", optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))",
    paste(deparse(f, width.cutoff = 500), collapse = ""), dataset, if (reml) "TRUE" else "FALSE")
  m <- lmer(f, data = d, REML = reml, control = ctrl)
  re <- ranef(m, condVar = TRUE)[[1]]
  pv <- attr(re, "postVar")  # q x q x G array (a list of them, one per term, for `||`)
  if (!is.list(pv)) pv <- list(pv)
  condvar <- lapply(seq_len(nrow(re)), function(g)
    as.numeric(as.matrix(Matrix::bdiag(lapply(pv, function(a) a[, , g, drop = FALSE][, , 1])))))
  cov_re <- as.matrix(Matrix::bdiag(VarCorr(m)))
  colnames(cov_re) <- rownames(cov_re) <- colnames(re)
  cases[[length(cases) + 1]] <<- list(
    id = id, dataset = dataset, formula = paste(deparse(f, width.cutoff = 500), collapse = ""),
    reml = reml, call = call, source = paste("R lme4", as.character(packageVersion("lme4"))),
    nobs = nobs(m), n_groups = nrow(re),
    params = named(fixef(m)), std_errors = named(sqrt(diag(as.matrix(vcov(m))))),
    vcov = matrix_of(vcov(m)),
    cov_re = matrix_of(cov_re), sigma2 = sigma(m)^2,
    theta = as.numeric(getME(m, "theta")),
    loglike = as.numeric(logLik(m)), reml_crit = as.numeric(REMLcrit(m)),
    deviance = as.numeric(deviance(m, REML = FALSE)),
    aic = AIC(m), bic = BIC(m), singular = isSingular(m),
    ranef = list(groups = rownames(re), names = colnames(re),
                 values = lapply(seq_len(nrow(re)), function(i) as.numeric(re[i, ]))),
    condvar = condvar
  )
}
for (r in c(TRUE, FALSE)) {
  tag <- if (r) "reml" else "ml"
  fit_case(paste0("dietox_intercept_", tag), "dietox", Weight ~ Time + (1 | Pig), dietox, r)
  fit_case(paste0("dietox_slope_", tag), "dietox", Weight ~ Time + (Time | Pig), dietox, r)
  fit_case(paste0("sleep_indep_", tag), "sleepstudy", Reaction ~ Days + (Days || Subject), sleep, r)
  fit_case(paste0("sleep_noint_", tag), "sleepstudy", Reaction ~ Days + (0 + Days | Subject), sleep, r)
  fit_case(paste0("unbalanced_intercept_", tag), "sleepstudy_unbalanced",
           Reaction ~ Days + (1 | Subject), unb, r)
  fit_case(paste0("unbalanced_slope_", tag), "sleepstudy_unbalanced",
           Reaction ~ Days + (Days | Subject), unb, r)
  fit_case(paste0("singular_intercept_", tag), "simulated_singular", y ~ x + (1 | g), sim, r)
  fit_case(paste0("singular_indep_", tag), "simulated_singular", y2 ~ x + (x || g), sim, r)
  fit_case(paste0("singular_slope_", tag), "simulated_singular", y2 ~ x + (x | g), sim, r)
}

versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))
writeLines(toJSON(list(generated_by = versions, cases = cases), auto_unbox = TRUE, digits = NA,
                  pretty = TRUE, null = "null", na = "null"),
           file.path(out_dir, "lme4_extra.json"))
