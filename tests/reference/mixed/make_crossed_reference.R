# Crossed and nested random-effects fixtures for panelre.mixed, computed by R's lme4 (nobody on
# this project wrote the numbers).
# Run from the repository root:   Rscript tests/reference/mixed/make_crossed_reference.R
# Needs Debian's r-base-core r-cran-lme4 r-cran-jsonlite r-cran-matrix, and gzip.  Writes
#   panelre/datasets/data/penicillin.csv.gz    (lme4::Penicillin: diameter, plate, sample)
#   panelre/datasets/data/pastes.csv.gz        (lme4::Pastes: strength, batch, cask, sample)
#   panelre/datasets/data/insteval.csv.gz      (lme4::InstEval: s, d, studage, lectage, service,
#                                                dept, y; 73,421 rows)
#   tests/reference/mixed/lme4_crossed.json    (one case per fit with the R call beside it, plus
#                                                "predictions" and "anova", each with its R call)
# The CSVs are write.csv(row.names = FALSE, quote = FALSE) (no label contains a comma or a quote;
# this is checked), then gzip -9 -n.  Factors are written as their labels, so the level order of
# factors (e.g. InstEval's dept, and the ordered studage/lectage) is not carried by the CSV.
# The ML refits that anova() makes use lme4's default refitML() settings (bobyqa, default
# rhoend), not the rhoend = 1e-12 control of the fits; the "ml" cases are the tight ML fits.
suppressMessages({
  library(lme4); library(jsonlite); library(Matrix)
})
options(warn = 1)
out_dir <- file.path("tests", "reference", "mixed")
data_dir <- file.path("panelre", "datasets", "data")
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6))
ctrl_str <- "control = lmerControl(optimizer = \"bobyqa\", optCtrl = list(rhoend = 1e-12, maxfun = 1e6))"
named <- function(v) { l <- as.list(as.numeric(v)); names(l) <- names(v); l }
matrix_of <- function(m) {
  m <- as.matrix(m)
  list(names = I(colnames(m)), values = lapply(seq_len(nrow(m)), function(i) I(as.numeric(m[i, ]))))
}
fdeparse <- function(f) paste(deparse(f, width.cutoff = 500), collapse = "")

# ---------- data files ----------
write_gz <- function(d, name) {
  chr <- vapply(d, function(x) is.factor(x) || is.character(x), TRUE)
  bad <- unlist(lapply(d[chr], function(x) grepl("[,\"\n]", as.character(x))))
  if (any(bad)) stop(name, ": a label needs quoting")
  path <- file.path(data_dir, name)
  write.csv(d, path, row.names = FALSE, quote = FALSE)
  unlink(paste0(path, ".gz"))
  if (system2("gzip", c("-9", "-n", shQuote(path))) != 0) stop("gzip failed for ", path)
}
write_gz(Penicillin, "penicillin.csv")
write_gz(Pastes, "pastes.csv")
write_gz(InstEval, "insteval.csv")

# ---------- fits ----------
cases <- list()
fitted <- list()
fit_case <- function(id, dataset, data_name, f, reml, n_time, truncate = NULL) {
  # evaluated with the data set's own name in the call, so that anova() sees the same data object
  call <- sprintf("lmer(%s, data = %s, REML = %s, %s)", fdeparse(f), data_name,
                  if (reml) "TRUE" else "FALSE", ctrl_str)
  secs <- numeric(n_time)
  warns <- character(0)
  for (k in seq_len(n_time)) {
    secs[k] <- system.time(
      m <- withCallingHandlers(eval(bquote(lmer(.(f), data = .(as.name(data_name)), REML = .(reml),
                                                control = ctrl))),
                               warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") },
                               message = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleMessage") })
    )[["elapsed"]]
  }
  warns <- unique(trimws(warns))
  if (length(warns)) cat(id, ": ", paste(warns, collapse = " | "), "\n", sep = "")
  res <- ranef(m, condVar = TRUE)
  ranef_out <- list()
  for (nm in names(res)) {
    re <- res[[nm]]
    pv <- attr(re, "postVar")  # q x q x G array (a list of them, one per term, for `||`)
    if (!is.list(pv)) pv <- list(pv)
    keep <- seq_len(nrow(re))
    if (!is.null(truncate) && nm %in% truncate$factors) keep <- keep[seq_len(min(length(keep), truncate$n))]
    condvar <- lapply(keep, function(g)
      I(as.numeric(as.matrix(Matrix::bdiag(lapply(pv, function(a) a[, , g, drop = FALSE][, , 1]))))))
    ranef_out[[nm]] <- list(
      levels = I(rownames(re)[keep]), names = I(colnames(re)), n_levels = nrow(re),
      values = lapply(keep, function(i) I(as.numeric(re[i, ]))),
      condvar = condvar)
  }
  vc <- as.data.frame(VarCorr(m))
  varcorr <- lapply(seq_len(nrow(vc)), function(i)
    list(grp = vc$grp[i], var1 = vc$var1[i], var2 = vc$var2[i], vcov = vc$vcov[i], sdcor = vc$sdcor[i]))
  th <- getME(m, "theta")
  ng <- ngrps(m)
  case <- list(
    id = id, dataset = dataset, formula = fdeparse(f),
    reml = reml, call = call, source = paste("R lme4", as.character(packageVersion("lme4"))),
    nobs = nobs(m), ngrps = as.list(setNames(as.integer(ng), names(ng))),
    params = named(fixef(m)), std_errors = named(sqrt(diag(as.matrix(vcov(m))))),
    vcov = matrix_of(vcov(m)), sigma2 = sigma(m)^2,
    theta = I(as.numeric(th)), theta_names = I(names(th)),
    loglike = as.numeric(logLik(m)), reml_crit = as.numeric(REMLcrit(m)),
    deviance = as.numeric(deviance(m, REML = FALSE)),
    aic = AIC(m), bic = BIC(m), singular = isSingular(m),
    varcorr = varcorr,
    varcorr_order = I(sprintf("%s/%s/%s", vc$grp, vc$var1, vc$var2)),
    ranef = ranef_out,
    seconds = median(secs), seconds_runs = I(secs),
    messages = I(warns)
  )
  if (!is.null(truncate)) {
    case$ranef_truncated_to <- truncate$n
    case$ranef_truncated_factors <- I(truncate$factors)
  }
  cases[[length(cases) + 1]] <<- case
  fitted[[id]] <<- m
  invisible(m)
}
for (r in c(TRUE, FALSE)) {
  tag <- if (r) "reml" else "ml"
  fit_case(paste0("penicillin_", tag), "penicillin", "Penicillin",
           diameter ~ 1 + (1 | plate) + (1 | sample), r, 5)
  fit_case(paste0("pastes_", tag), "pastes", "Pastes",
           strength ~ 1 + (1 | batch/cask), r, 5)
  fit_case(paste0("sleep_crossed_", tag), "sleepstudy", "sleepstudy",
           Reaction ~ Days + (Days | Subject) + (1 | Days), r, 5)
  fit_case(paste0("sleep_crossed_indep_", tag), "sleepstudy", "sleepstudy",
           Reaction ~ Days + (Days || Subject) + (1 | Days), r, 5)
  fit_case(paste0("insteval_", tag), "insteval", "InstEval",
           y ~ service + (1 | s) + (1 | d) + (1 | dept:service), r, 3,
           truncate = list(n = 200, factors = c("s", "d")))
}

# ---------- predictions (penicillin REML fit) ----------
m1 <- fitted[["penicillin_reml"]]
newdata <- data.frame(plate = c("a", "b", "zz", "c"), sample = c("A", "F", "B", "NEW"),
                      stringsAsFactors = FALSE)
newdata_str <- "newdata <- data.frame(plate = c(\"a\", \"b\", \"zz\", \"c\"), sample = c(\"A\", \"F\", \"B\", \"NEW\"))"
pred <- function(id, call, ...) list(id = id, model = "penicillin_reml", call = call,
                                     values = I(as.numeric(predict(m1, newdata = newdata, ...))))
predictions <- list(
  setup = paste0("m1 <- ", cases[[1]]$call, "; ", newdata_str),
  newdata = list(plate = I(newdata$plate), sample = I(newdata$sample)),
  note = "row 3 has a new plate level (\"zz\"), row 4 a new sample level (\"NEW\"); new levels get a zero random effect",
  cases = list(
    pred("all_re", "predict(m1, newdata = newdata, re.form = NULL, allow.new.levels = TRUE)",
         re.form = NULL, allow.new.levels = TRUE),
    pred("fixed_only", "predict(m1, newdata = newdata, re.form = NA)", re.form = NA),
    pred("plate_only", "predict(m1, newdata = newdata, re.form = ~(1 | plate), allow.new.levels = TRUE)",
         re.form = ~(1 | plate), allow.new.levels = TRUE)
  )
)

# ---------- likelihood-ratio tests ----------
m0_call <- sprintf("lmer(diameter ~ 1 + (1 | plate), data = Penicillin, REML = TRUE, %s)", ctrl_str)
m0 <- lmer(diameter ~ 1 + (1 | plate), data = Penicillin, REML = TRUE, control = ctrl)
anova_case <- function(id, call, refit) {
  msgs <- character(0)
  a <- withCallingHandlers(anova(m0, m1, refit = refit),
                           message = function(w) { msgs <<- c(msgs, trimws(conditionMessage(w))); invokeRestart("muffleMessage") })
  a <- as.data.frame(a)
  rows <- lapply(seq_len(nrow(a)), function(i) {
    l <- lapply(names(a), function(cn) as.numeric(a[i, cn]))
    names(l) <- names(a)
    c(list(model = rownames(a)[i]), l)
  })
  list(id = id, call = call, refit = refit, messages = I(msgs),
       models_refit_with_ML = refit && length(msgs) > 0, rows = rows)
}
anova_out <- list(
  setup = paste0("m0 <- ", m0_call, "; m1 <- ", cases[[1]]$call),
  note = "with refit = TRUE lme4 refits both REML models by ML via refitML() with its default bobyqa settings (not rhoend = 1e-12)",
  cases = list(
    anova_case("refit_ml", "anova(m0, m1)", TRUE),
    anova_case("no_refit", "anova(m0, m1, refit = FALSE)", FALSE)
  )
)

versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                 Matrix = as.character(packageVersion("Matrix")))
writeLines(toJSON(list(generated_by = versions, cases = cases, predictions = predictions,
                       anova = anova_out),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
           file.path(out_dir, "lme4_crossed.json"))
