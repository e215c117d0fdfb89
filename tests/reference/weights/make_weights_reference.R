# Reference values for panelre's observation weights (tests/reference/weights/).
# Run from this folder:  Rscript make_weights_reference.R
# Writes grunfeld_weights.csv (the data, with the weights) and weights_r.json (each case
# with the exact R call that produced its numbers).
suppressMessages({library(plm); library(sandwich); library(lme4); library(metafor); library(jsonlite)})
data("Grunfeld", package = "plm")
set.seed(20261201)
d <- Grunfeld
d$w  <- round(runif(nrow(d), 0.25, 4), 4)              # analytic weights, vary within firm
d$wc <- round(rep(runif(10, 0.5, 3), each = 20), 4)     # constant within firm
d$fw <- sample(1:3, nrow(d), replace = TRUE)            # frequency weights
d$unbal <- as.integer(!(seq_len(nrow(d)) %in% c(4, 18, 51, 52, 121, 160, 199)))
write.csv(d, "grunfeld_weights.csv", row.names = FALSE)
du <- d[d$unbal == 1, ]

cases <- list()
add <- function(id, call, values) {
  cases[[id]] <<- c(list(id = id, call = call), values)
}
ev <- function(call) eval(parse(text = call))
named <- function(v) as.list(v)
slopes <- c("value", "capital")
coefs <- function(m, vc, keep = NULL) {
  b <- coef(m); s <- sqrt(diag(vc))
  if (!is.null(keep)) { b <- b[keep]; s <- s[keep] }
  list(params = named(b), std_errors = named(s))
}
fit_case <- function(id, call, keep = NULL, vcov_calls = list()) {
  m <- ev(call)
  out <- c(coefs(m, vcov(m), keep), list(sigma = summary(m)$sigma, rsquared = summary(m)$r.squared,
           df_resid = m$df.residual))
  add(id, call, out)
  for (nm in names(vcov_calls)) {
    vcall <- vcov_calls[[nm]]
    vc <- eval(parse(text = vcall), list(m = m))
    add(paste0(id, "_", nm), paste0("m <- ", call, "; ", vcall), coefs(m, vc, keep))
  }
  m
}
robust <- list(hc0 = 'vcovHC(m, type = "HC0")', hc1 = 'vcovHC(m, type = "HC1")',
               cl_firm_hc0 = 'vcovCL(m, cluster = ~firm, type = "HC0", cadjust = FALSE)',
               cl_firm_hc1 = 'vcovCL(m, cluster = ~firm, type = "HC1")',
               cl_twoway_hc0 = 'vcovCL(m, cluster = ~firm + year, type = "HC0", cadjust = FALSE)',
               dk_hc0 = 'vcovPL(m, cluster = ~firm, order.by = ~year, lag = "NW1987", adjust = FALSE)')
fit_case("pooled", 'lm(inv ~ value + capital, data = d, weights = w)', vcov_calls = robust)
fit_case("pooled_unbal", 'lm(inv ~ value + capital, data = du, weights = w)', vcov_calls = robust[1:3])
fit_case("within", 'lm(inv ~ value + capital + factor(firm), data = d, weights = w)', slopes,
         vcov_calls = robust[c("hc0", "cl_firm_hc0", "cl_twoway_hc0", "dk_hc0")])
fit_case("within_unbal", 'lm(inv ~ value + capital + factor(firm), data = du, weights = w)', slopes,
         vcov_calls = robust[c("hc0", "cl_firm_hc0")])
fit_case("within_time", 'lm(inv ~ value + capital + factor(year), data = du, weights = w)', slopes,
         vcov_calls = robust[c("hc0")])
fit_case("within_twoway", 'lm(inv ~ value + capital + factor(firm) + factor(year), data = d, weights = w)', slopes,
         vcov_calls = robust[c("hc0", "cl_firm_hc0")])
fit_case("within_twoway_unbal", 'lm(inv ~ value + capital + factor(firm) + factor(year), data = du, weights = w)', slopes,
         vcov_calls = robust[c("hc0", "cl_firm_hc0")])
# plm's within with weights constant within entity is the weighted LSDV
m <- plm(inv ~ value + capital, data = pdata.frame(d, index = c("firm", "year")), model = "within", weights = wc)
add("plm_within_constant_weights", 'plm(inv ~ value + capital, data = pdata.frame(d, index = c("firm", "year")), model = "within", weights = wc)',
    coefs(m, vcov(m)))
m <- plm(inv ~ value + capital, data = pdata.frame(d, index = c("firm", "year")), model = "pooling", weights = w)
add("plm_pooling", 'plm(inv ~ value + capital, data = pdata.frame(d, index = c("firm", "year")), model = "pooling", weights = w)',
    coefs(m, vcov(m)))
# between: weighted entity means, each weighted by its mean weight (plm refuses weights)
bcall <- 'local({ s <- split(du, du$firm); m <- t(sapply(s, function(g) c(inv = weighted.mean(g$inv, g$w), value = weighted.mean(g$value, g$w), capital = weighted.mean(g$capital, g$w), wbar = mean(g$w), T = nrow(g)))); as.data.frame(m) })'
bm <- ev(bcall)
fit_case("between", paste0('lm(inv ~ value + capital, data = ', bcall, ', weights = wbar)'))
fit_case("between_wls_unweighted", 'lm(inv ~ value + capital, data = aggregate(cbind(inv, value, capital, T = 1) ~ firm, data = du, FUN = function(v) if (all(v == 1)) sum(v) else mean(v)), weights = T)')
# first differences: differences weighted by 1/(1/w_t + 1/w_{t-1})
fcall <- 'local({ o <- du[order(du$firm, du$year), ]; same <- o$firm[-1] == o$firm[-nrow(o)]; a <- o[-1, ][same, ]; b <- o[-nrow(o), ][same, ]; data.frame(dinv = a$inv - b$inv, dvalue = a$value - b$value, dcapital = a$capital - b$capital, wd = 1 / (1 / a$w + 1 / b$w)) })'
fit_case("fd", paste0('lm(dinv ~ dvalue + dcapital, data = ', fcall, ', weights = wd)'))
# frequency weights: lm on the data with rows repeated
fit_case("pooled_frequency_expanded", 'lm(inv ~ value + capital, data = d[rep(seq_len(nrow(d)), d$fw), ])')

# lme4 prior weights: residual variance sigma^2 / w
data("sleepstudy", package = "lme4")
ss <- sleepstudy
ss$w <- round(rep(c(0.5, 1, 1.5, 2, 3), length.out = nrow(ss)), 2)
write.csv(ss, "sleepstudy_weights.csv", row.names = FALSE)
for (spec in list(list("mixed_intercept_reml", 'lmer(Reaction ~ Days + (1 | Subject), data = ss, weights = w, REML = TRUE, control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))'),
                  list("mixed_intercept_ml", 'lmer(Reaction ~ Days + (1 | Subject), data = ss, weights = w, REML = FALSE, control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))'),
                  list("mixed_slope_reml", 'lmer(Reaction ~ Days + (Days | Subject), data = ss, weights = w, REML = TRUE, control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))'))) {
  m <- ev(spec[[2]])
  vc <- as.data.frame(VarCorr(m))
  add(spec[[1]], spec[[2]], list(params = named(fixef(m)), std_errors = named(sqrt(diag(as.matrix(vcov(m))))),
      sigma = sigma(m), loglike = as.numeric(logLik(m)),
      variance_components = lapply(seq_len(nrow(vc)), function(i) list(grp = vc$grp[i], var1 = vc$var1[i], var2 = vc$var2[i], vcov = vc$vcov[i])),
      ranef = named(ranef(m)$Subject[, 1])))
}
# metafor user weights
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat$uw <- dat$tpos + dat$cpos
write.csv(as.data.frame(dat), "bcg_weights.csv", row.names = FALSE)
for (spec in list(list("meta_re_reml", 'rma(yi, vi, data = dat, weights = uw, method = "REML", control = list(threshold = 1e-12, maxiter = 1000))'),
                  list("meta_fe", 'rma(yi, vi, data = dat, weights = uw, method = "FE")'),
                  list("meta_re_dl", 'rma(yi, vi, data = dat, weights = uw, method = "DL")'),
                  list("meta_reg_reml", 'rma(yi, vi, mods = ~ ablat, data = dat, weights = uw, method = "REML", control = list(threshold = 1e-12, maxiter = 1000))'))) {
  m <- ev(spec[[2]])
  add(spec[[1]], spec[[2]], list(params = named(setNames(as.numeric(coef(m)), names(coef(m)))),
      std_errors = named(setNames(as.numeric(m$se), names(coef(m)))), tau2 = m$tau2,
      QE = m$QE, weights_percent = as.numeric(weights(m))))
}
writeLines(toJSON(list(generated_by = "make_weights_reference.R", R = R.version.string,
                       packages = list(plm = as.character(packageVersion("plm")), sandwich = as.character(packageVersion("sandwich")),
                                       lme4 = as.character(packageVersion("lme4")), metafor = as.character(packageVersion("metafor"))),
                       cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE), "weights_r.json")
cat(length(cases), "cases\n")
