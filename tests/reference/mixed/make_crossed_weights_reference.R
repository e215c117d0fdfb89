# lme4 fixtures for crossed random effects with prior weights, computed by R's lme4.
# Run from the repository root:   Rscript tests/reference/mixed/make_crossed_weights_reference.R
# Needs Debian's r-base-core r-cran-lme4 r-cran-jsonlite.  Writes
#   tests/reference/mixed/lme4_crossed_weights.json  (one case per fit, with the R call beside it)
# The weights are deterministic: w = 1 + (row %% 3) / 2 on lme4's Penicillin rows in their order.
suppressMessages({
  library(lme4); library(jsonlite)
})
options(warn = 1)
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6))
data(Penicillin, package = "lme4")
Penicillin$w <- 1 + (seq_len(nrow(Penicillin)) %% 3) / 2
named <- function(v) { l <- as.list(as.numeric(v)); names(l) <- names(v); l }
cases <- list()
for (reml in c(TRUE, FALSE)) {
  call <- sprintf(paste0(
    "lmer(diameter ~ 1 + (1 | plate) + (1 | sample), data = Penicillin, weights = w, ",
    "REML = %s, control = lmerControl(optimizer = \"bobyqa\", optCtrl = list(rhoend = 1e-12, ",
    "maxfun = 1e6)))"), if (reml) "TRUE" else "FALSE")
  m <- eval(parse(text = call))
  vc <- as.data.frame(VarCorr(m))
  cases[[length(cases) + 1]] <- list(
    id = paste0("penicillin_weighted_", if (reml) "reml" else "ml"), dataset = "penicillin",
    formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", weights = "1 + (row %% 3) / 2",
    reml = reml, call = call, source = paste("R lme4", as.character(packageVersion("lme4"))),
    params = named(fixef(m)), std_errors = named(sqrt(diag(as.matrix(vcov(m))))),
    sigma2 = sigma(m)^2, loglike = as.numeric(logLik(m)), reml_crit = as.numeric(REMLcrit(m)),
    deviance = as.numeric(deviance(m, REML = FALSE)),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(grp = vc$grp[i], vcov = vc$vcov[i])),
    ranef_plate = as.numeric(ranef(m)$plate[, 1]), plate_levels = rownames(ranef(m)$plate)
  )
}
versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))
writeLines(toJSON(list(generated_by = versions, cases = cases), auto_unbox = TRUE, digits = NA,
                  pretty = TRUE),
           file.path("tests", "reference", "mixed", "lme4_crossed_weights.json"))
