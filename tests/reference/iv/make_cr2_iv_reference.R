# CR2 (Bell-McCaffrey) standard errors and Satterthwaite degrees of freedom of 2SLS fits, by
# R clubSandwich on AER::ivreg, for panelre's cov="cr2" on instrumental-variable fits.
#
# Run from this folder (tests/reference/iv/):   Rscript make_cr2_iv_reference.R
# Needs R with AER, clubSandwich and jsonlite. Runtime: a few seconds.
# Data: plm's Grunfeld as bundled with panelre (datasets/grunfeld.csv) with
# lag_value / lag_capital = the firm's previous-year value / capital, first year dropped.
suppressMessages({ library(AER); library(clubSandwich); library(jsonlite) })
if (!file.exists("make_cr2_iv_reference.R")) stop("run from tests/reference/iv/")
g <- read.csv("../../../datasets/grunfeld.csv")
g <- g[order(g$firm, g$year), ]
g$lag_value <- ave(g$value, g$firm, FUN = function(v) c(NA, head(v, -1)))
g$lag_capital <- ave(g$capital, g$firm, FUN = function(v) c(NA, head(v, -1)))
g <- g[!is.na(g$lag_value), ]
calls <- list(
  pooled = "ivreg(inv ~ capital + value | capital + lag_value + lag_capital, data = g)",
  firm_dummies = "ivreg(inv ~ capital + value + factor(firm) | capital + lag_value + lag_capital + factor(firm), data = g)")
cases <- list()
for (id in names(calls)) {
  m <- eval(parse(text = calls[[id]]))
  V <- vcovCR(m, cluster = g$firm, type = "CR2")
  keep <- intersect(c("(Intercept)", "capital", "value"), names(coef(m)))
  tst <- coef_test(m, vcov = V, coefs = keep)
  cases[[id]] <- list(call = calls[[id]],
                      vcov = 'vcovCR(m, cluster = g$firm, type = "CR2"); coef_test(m, vcov = V)',
                      params = as.list(coef(m)[keep]), std_errors = as.list(setNames(tst$SE, keep)),
                      df = as.list(setNames(tst$df_Satt, keep)), nobs = nrow(g))
}
out <- list(generated_by = "make_cr2_iv_reference.R", R = R.version.string,
            clubSandwich = as.character(packageVersion("clubSandwich")),
            AER = as.character(packageVersion("AER")), cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "clubsandwich_cr2_iv.json")
