# Random-effects IV (G2SLS "bvk" and EC2SLS "baltagi") with every variance-component method
# plm offers for IV formulas: Wallace-Hussain ("walhus"), Amemiya ("amemiya"), Nerlove
# ("nerlove"), next to Swamy-Arora ("swar", already in plm_iv.json / stata_xtivreg.json).
#
# Run from this folder (tests/reference/iv/):   Rscript make_iv_methods_reference.R
# Needs R with plm (2.6.2 used) and jsonlite. Runtime: a few seconds.
# Writes plm_iv_methods.json: for each case the exact R call, coefficients, standard errors,
# ercomp sigma2 (idios, id) and theta (first value).
suppressMessages({ library(plm); library(jsonlite) })
if (!file.exists("make_iv_methods_reference.R")) stop("run from tests/reference/iv/")

crime <- read.csv("crime.csv.gz")
nls <- read.csv("nlswork_xtivreg.csv.gz")
nls$black <- as.numeric(nls$race == 2)

forms <- list(
  crime = paste("lcrmrte ~ lprbarr + lpolpc + lprbconv + lprbpris + lavgsen + ldensity + lwcon +",
                "lwtuc + lwtrd + lwfir + lwser + lwmfg + lwfed + lwsta + lwloc + lpctymle + lpctmin +",
                "factor(region) + factor(smsa) + factor(year) | . - lprbarr - lpolpc + ltaxpc + lmix"),
  nlswork = paste("ln_wage ~ tenure + age + I(age^2) + not_smsa + black |",
                  "age + I(age^2) + not_smsa + black + union + birth_yr + south"),
  # without the time-invariant regressor: plm's unbalanced Amemiya needs within variation in
  # every regressor
  nlswork_varying = paste("ln_wage ~ tenure + age + I(age^2) + not_smsa |",
                          "age + I(age^2) + not_smsa + union + birth_yr + south"))
index <- list(crime = 'c("county", "year")', nlswork = 'c("idcode", "year")',
              nlswork_varying = 'c("idcode", "year")')
datasets <- list(crime = "crime", nlswork = "nls", nlswork_varying = "nls")

named <- function(v) { l <- as.list(as.numeric(v)); names(l) <- names(v); l }
cases <- list()
for (d in names(forms)) for (m in c("swar", "walhus", "amemiya", "nerlove")) for (im in c("bvk", "baltagi")) {
  call <- sprintf('plm(%s, data = %s, index = %s, model = "random", random.method = "%s", inst.method = "%s")',
                  forms[[d]], datasets[[d]], index[[d]], m, im)
  fit <- tryCatch(eval(parse(text = call)), error = function(e) conditionMessage(e))
  if (is.character(fit)) {
    cases[[paste(d, m, im, sep = "_")]] <- list(call = call, data = d, random_method = m,
                                                inst_method = im, error = fit)
    next
  }
  ec <- ercomp(fit)
  cases[[paste(d, m, im, sep = "_")]] <- list(
    call = call, data = d, random_method = m, inst_method = im,
    params = named(coef(fit)), std_errors = named(sqrt(diag(vcov(fit)))),
    sigma2_idios = unname(ec$sigma2["idios"]), sigma2_id = unname(ec$sigma2["id"]),
    theta_first = unname(as.numeric(ec$theta)[1]), nobs = nobs(fit))
}
out <- list(
  generated_by = "make_iv_methods_reference.R",
  R = R.version.string, plm = as.character(packageVersion("plm")),
  data = list(crime = "crime.csv.gz (plm's Crime, see crime.txt)",
              nlswork = "nlswork_xtivreg.csv.gz; black <- as.numeric(race == 2)"),
  cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "plm_iv_methods.json")
cat("wrote", length(cases), "cases\n")
