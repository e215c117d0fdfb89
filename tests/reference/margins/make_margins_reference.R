# Reference values for panelre's marginal effects and predictions (tests/reference/margins/).
# Run from this folder:  Rscript make_margins_reference.R      (about 5 seconds)
# Writes margins_r.json: {"generated_by", "R", "packages", "marginaleffects", "checks", "cases"}.
# Every case carries "id" and "call" (the exact R code whose result is stored, evaluated from
# that very string), and "stata" (the Stata command whose semantics the numbers follow).
#
# Needs Debian's r-base-core r-cran-plm r-cran-sandwich r-cran-lme4 r-cran-jsonlite.
# The R package marginaleffects was tried first (install.packages from CRAN) but cannot be installed
# here (CRAN is not reachable: "package 'marginaleffects' is not available for this version of R"),
# so average marginal effects (AMEs) are computed two independent ways and must agree:
#   1. analytic: AME_v = mean_i d(x_i'b)/dv = gbar'b with gbar = mean_i dx_i/dv (hand-derived, see
#      each case's call); the delta-method SE is sqrt(gbar' V gbar), exact because the AME is linear
#      in b (Stata margins, vce(delta), the default: covariates treated as fixed);
#   2. numerical, the way marginaleffects::avg_slopes() does it: a central finite difference of
#      predict() in v (step 1e-4 * range(v)) averaged over the sample, and the SE from the numerical
#      Jacobian (central differences, see jac()) of that average with respect to the coefficients.
# The stored numbers are the analytic ones; "checks" records the largest relative gap.
# Stata's margins after regress/xtreg reports t statistics (with e(df_r): n - k for OLS, G - 1 with
# vce(cluster), N - n - k for xtreg, fe) since Stata 14 (z before); both are stored.
suppressMessages({ library(plm); library(sandwich); library(lme4); library(jsonlite) })
options(warn = 1)
data_dir <- file.path("..", "..", "..", "panelre", "datasets", "data")
rd <- function(f) read.csv(gzfile(file.path(data_dir, f)))
grunfeld <- rd("grunfeld.csv.gz")     # firm, year, inv, value, capital (= plm's Grunfeld, checked below)
wagepan  <- rd("wagepan.csv.gz")      # Wooldridge's wagepan (nr, year, ..., educ, union, lwage, exper)
sleep    <- rd("sleepstudy.csv.gz")   # lme4's sleepstudy (Reaction, Days, Subject)
sleep$Subject <- factor(sleep$Subject)
data("Grunfeld", package = "plm")
stopifnot(isTRUE(all.equal(grunfeld, Grunfeld, check.attributes = FALSE, tolerance = 0)))

E <- function(code) eval(parse(text = code), envir = .GlobalEnv)
cases <- list()
checks <- list()
add <- function(id, call, values) cases[[id]] <<- c(list(id = id, call = call), values)
named <- function(v) { l <- as.list(as.numeric(v)); names(l) <- names(v); l }
mat <- function(V) list(names = rownames(V), values = unname(lapply(seq_len(nrow(V)), function(i) as.numeric(V[i, ]))))
relgap <- function(a, b) max(abs(a - b) / pmax(abs(b), 1e-300))

# ---------- the two AME methods ----------
# analytic: `grad` is an R expression (a string) evaluated in `data`, giving the n x k matrix
# dx_i/dv (columns in the order of `names(b)`); the AME is colMeans(grad)'b.
ame_analytic <- function(b, V, data, grad) {
  G <- eval(parse(text = grad), data)
  if (nrow(G) == 1) G <- G[rep(1, nrow(data)), , drop = FALSE]   # no column depends on the data
  stopifnot(nrow(G) == nrow(data), ncol(G) == length(b))
  g <- colMeans(G); names(g) <- names(b)
  list(estimate = sum(g * b), std_error = sqrt(as.numeric(t(g) %*% V[names(b), names(b)] %*% g)), gradient = g)
}
# Jacobian of a scalar function of the coefficients by central differences with unit steps: exact
# (up to rounding) for the AME, which is linear in b; a small step (as numDeriv's) only adds the
# finite-difference noise of f itself (~1e-6 relative in the SEs)
jac <- function(f, b) t(vapply(seq_along(b), function(j) { e <- replace(numeric(length(b)), j, 1)
                                                          (f(b + e) - f(b - e)) / 2 }, 0))
# numerical, marginaleffects-style: predict() with the coefficients replaced by `bb`.
# `counterfactual` (a list var = value) is set for every row first (Stata at(), avg_slopes(newdata =
# datagrid(..., grid_type = "counterfactual"))).
ame_numeric <- function(m, V, data, var, counterfactual = list()) {
  for (nm in names(counterfactual)) data[[nm]] <- counterfactual[[nm]]
  h <- 1e-4 * diff(range(data[[var]]))
  lo <- data; hi <- data
  lo[[var]] <- lo[[var]] - h / 2; hi[[var]] <- hi[[var]] + h / 2
  f <- function(bb) { m$coefficients <- bb; mean((predict(m, newdata = hi) - predict(m, newdata = lo)) / h) }
  b <- coef(m)
  J <- jac(f, b)
  list(estimate = f(b), std_error = sqrt(as.numeric(J %*% V[names(b), names(b)] %*% t(J))))
}
# discrete change of a 0/1 factor (Stata: dydx(*) on i.union reports 1.union vs the base 0)
contrast_numeric <- function(m, V, data, var) {
  d1 <- data; d0 <- data
  d1[[var]] <- factor(1, levels = c(0, 1)); d0[[var]] <- factor(0, levels = c(0, 1))
  f <- function(bb) { m$coefficients <- bb; mean(predict(m, newdata = d1) - predict(m, newdata = d0)) }
  b <- coef(m); J <- jac(f, b)
  list(estimate = f(b), std_error = sqrt(as.numeric(J %*% V[names(b), names(b)] %*% t(J))))
}
inference <- function(est, se, df) {
  z <- est / se
  list(estimate = est, std_error = se, statistic = z,
       p_value_normal = 2 * pnorm(-abs(z)),
       conf_low_normal = est - qnorm(0.975) * se, conf_high_normal = est + qnorm(0.975) * se,
       df = df, p_value_t = 2 * pt(-abs(z), df),
       conf_low_t = est - qt(0.975, df) * se, conf_high_t = est + qt(0.975, df) * se)
}
# one AME block: analytic numbers stored, numeric ones stored alongside and compared
ame_block <- function(id, m, V, data, grads, df, num_model = m, num_V = V, counterfactual = list(),
                      contrasts = character()) {
  out <- list()
  for (v in names(grads)) {
    dat <- data
    for (nm in names(counterfactual)) dat[[nm]] <- counterfactual[[nm]]
    a <- ame_analytic(coef(m), V, dat, grads[[v]])
    n <- ame_numeric(num_model, num_V, data, v, counterfactual)
    checks[[paste0(id, ":", v)]] <<- list(estimate_rel_gap = relgap(n$estimate, a$estimate),
                                          std_error_rel_gap = relgap(n$std_error, a$std_error))
    out[[v]] <- c(inference(a$estimate, a$std_error, df),
                  list(gradient = named(a$gradient), derivative_of_xb = grads[[v]],
                       numeric_estimate = n$estimate, numeric_std_error = n$std_error))
  }
  for (v in names(contrasts)) {
    a <- ame_analytic(coef(m), V, data, contrasts[[v]])
    n <- contrast_numeric(num_model, num_V, data, v)
    checks[[paste0(id, ":1.", v)]] <<- list(estimate_rel_gap = relgap(n$estimate, a$estimate),
                                            std_error_rel_gap = relgap(n$std_error, a$std_error))
    out[[paste0("1.", v)]] <- c(inference(a$estimate, a$std_error, df),
                                list(gradient = named(a$gradient), discrete_change_of_xb = contrasts[[v]],
                                     numeric_estimate = n$estimate, numeric_std_error = n$std_error))
  }
  out
}

# the exact analytic calls of a case, one per variable
ame_calls <- function(data_name, grads, fun = "ame_analytic") paste(sprintf('%s(coef(m), V, %s, "%s")', fun, data_name, grads), collapse = "; ")

# ======================= A. average marginal effects =======================
f1 <- "inv ~ value + capital + I(value^2) + value:capital"
# coefficient order: (Intercept), value, capital, I(value^2), value:capital
g1 <- list(value   = "cbind(0, 1, 0, 2 * value, capital)",
           capital = "cbind(0, 0, 1, 0, value)")

# A1: OLS, default vcov
call <- sprintf("m <- lm(%s, data = grunfeld)", f1)
m1 <- E(call)
stopifnot(identical(names(coef(m1)), c("(Intercept)", "value", "capital", "I(value^2)", "value:capital")))
V1 <- vcov(m1)
add("ame_ols", paste0(call, "; V <- vcov(m); ", ame_calls("grunfeld", g1)),
    list(stata = "regress inv c.value##c.capital c.value#c.value\nmargins, dydx(*)",
         nobs = nobs(m1), params = named(coef(m1)), vcov = mat(V1),
         ame = ame_block("ame_ols", m1, V1, grunfeld, g1, df = m1$df.residual),
         note = "df = n - k (e(df_r) after regress): Stata >= 14 prints t and P>|t| with it; Stata <= 13 printed z"))

# A2: OLS, cluster-robust by firm with Stata's small-sample factor G/(G-1) (N-1)/(N-K)
vcall <- 'vcovCL(m, cluster = ~firm, type = "HC1")'
V2 <- eval(parse(text = vcall), list(m = m1))
G <- length(unique(grunfeld$firm))
add("ame_ols_cluster", paste0(call, "; V <- ", vcall, "; ", ame_calls("grunfeld", g1)),
    list(stata = "regress inv c.value##c.capital c.value#c.value, vce(cluster firm)\nmargins, dydx(*)",
         nobs = nobs(m1), n_clusters = G, params = named(coef(m1)), vcov = mat(V2),
         ame = ame_block("ame_ols_cluster", m1, V2, grunfeld, g1, df = G - 1),
         note = "sandwich's HC1 for vcovCL = Stata's vce(cluster): G/(G-1) * (N-1)/(N-K); Stata's t uses df = G - 1"))

# A3: within (entity FE); the AME is the derivative of x'b at the raw (not demeaned) covariates
call3 <- sprintf('m <- plm(%s, data = pdata.frame(grunfeld, index = c("firm", "year")), model = "within")', f1)
m3 <- E(call3)
V3 <- vcov(m3)
stopifnot(identical(names(coef(m3)), c("value", "capital", "I(value^2)", "value:capital")))
g3 <- list(value = "cbind(1, 0, 2 * value, capital)", capital = "cbind(0, 1, 0, value)")
# numeric check through the LSDV fit (same slopes and, with df = N - n - K, the same slope vcov)
lsdv <- lm(as.formula(paste(f1, "+ factor(firm)")), data = grunfeld)
stopifnot(relgap(coef(lsdv)[names(coef(m3))], coef(m3)) < 1e-9,
          relgap(vcov(lsdv)[names(coef(m3)), names(coef(m3))], V3) < 1e-7)
V3full <- vcov(lsdv); V3full[] <- 0; V3full[names(coef(m3)), names(coef(m3))] <- V3
add("ame_within", paste0(call3, "; V <- vcov(m); ", ame_calls("grunfeld", g3)),
    list(stata = "xtset firm year\nxtreg inv c.value##c.capital c.value#c.value, fe\nmargins, dydx(*)",
         nobs = nobs(m3), df_resid = df.residual(m3), params = named(coef(m3)), vcov = mat(V3),
         ame = ame_block("ame_within", m3, V3, grunfeld, g3, df = df.residual(m3),
                         num_model = lsdv, num_V = V3full),
         note = paste("derivative of x'b (Stata's predict, xb = _cons + x'b; the constant and u_i do not depend on x)",
                      "evaluated at the raw covariates and averaged over the estimation sample;",
                      "vcov(m) is plm's conventional within vcov, sigma2 = SSR/(N - n - K), = Stata's xtreg, fe;",
                      "df = N - n - K (xtreg, fe's e(df_r))")))

# A4: wagepan, factor-by-continuous interaction and a quadratic
call4 <- "m <- lm(lwage ~ educ * factor(union) + exper + I(exper^2), data = wagepan)"
m4 <- E(call4)
wp <- wagepan; wp$union <- factor(wp$union, levels = c(0, 1))
nm4 <- names(coef(m4))
stopifnot(identical(nm4, c("(Intercept)", "educ", "factor(union)1", "exper", "I(exper^2)", "educ:factor(union)1")))
g4 <- list(educ = "cbind(0, 1, 0, 0, 0, union == 1)", exper = "cbind(0, 0, 0, 1, 2 * exper, 0)")
c4 <- c(union = "cbind(0, 0, 1, 0, 0, educ)")
# numeric check: the same model with union stored as a factor (predict() can then switch it)
m4n <- lm(lwage ~ educ * union + exper + I(exper^2), data = wp)
stopifnot(relgap(unname(coef(m4n)), unname(coef(m4))) < 1e-10)
V4 <- vcov(m4); V4n <- vcov(m4n)
add("ame_wagepan_interaction", paste0(call4, "; V <- vcov(m); ", ame_calls("wagepan", c(g4, c4))),
    list(stata = "regress lwage c.educ##i.union c.exper##c.exper\nmargins, dydx(*)",
         nobs = nobs(m4), params = named(coef(m4)), vcov = mat(V4),
         ame = ame_block("ame_wagepan_interaction", m4, V4, wp, g4, df = m4$df.residual,
                         num_model = m4n, num_V = V4n, contrasts = c4),
         note = paste("union is 0/1; Stata's dydx(*) reports for the factor i.union the average discrete change",
                      "1.union = mean_i[xb(union = 1) - xb(union = 0)], stored as ame['1.union']; educ and exper are",
                      "derivatives. df = n - k")))

# A5: at(): AME of value with capital set to 100 (then 500) for every observation, averaged
for (cap in c(100, 500)) {
  g5 <- list(value = sprintf("cbind(0, 1, 0, 2 * value, %s)", cap))
  add(sprintf("ame_ols_at_capital_%d", cap),
      sprintf("%s; V <- vcov(m); d <- grunfeld; d$capital <- %s; %s", call, cap, ame_calls("d", g5)),
      list(stata = "regress inv c.value##c.capital c.value#c.value\nmargins, dydx(value) at(capital=(100 500))",
           marginaleffects_equivalent = sprintf('avg_slopes(m, variables = "value", newdata = datagrid(capital = %s, grid_type = "counterfactual"))', cap),
           at = list(capital = cap), nobs = nobs(m1),
           ame = ame_block(sprintf("ame_ols_at_capital_%d", cap), m1, V1, grunfeld, g5, df = m1$df.residual,
                           counterfactual = list(capital = cap)),
           note = "capital is set to the at() value for every row; value keeps its observed values; the derivative is averaged"))
}

# Cross-check of the method against published Stata output (mtcars is R's; numbers as Stata printed them,
# from the comparison vignette of the R package 'margins' (Leeper), "Comparison with Stata's margins command")
callm <- "m <- lm(mpg ~ cyl + hp * wt, data = mtcars)"
mm <- E(callm)
gm <- list(cyl = "cbind(0, 1, 0, 0, 0)", hp = "cbind(0, 0, 1, 0, wt)", wt = "cbind(0, 0, 0, 1, hp)")
mt_ame <- ame_block("stata_published_mtcars", mm, vcov(mm), mtcars, gm, df = mm$df.residual)
stata_printed <- list(cyl = c(dydx = "-.3652391", se = ".5086204", t = "-0.72", p = "0.479", lo = "-1.408842", hi = ".6783638"),
                      hp = c(dydx = "-.0252715", se = ".0105097", t = "-2.40", p = "0.023", lo = "-.0468357", hi = "-.0037073"),
                      wt = c(dydx = "-3.837584", se = ".6730996", t = "-5.70", p = "0.000", lo = "-5.21867", hi = "-2.456498"))
for (v in names(stata_printed)) {
  s <- stata_printed[[v]]; r <- mt_ame[[v]]
  # agreement to half a unit of the last printed digit, or 5e-7 relative: Stata's margins takes the
  # derivatives numerically, so its SEs differ from the exact ones by ~2e-7 relative (e.g. cyl's
  # AME SE is exactly regress's SE of _b[cyl], .50862033, but margins printed .5086204)
  ok <- function(txt, x) { d <- nchar(sub("^-?[0-9]*\\.?", "", txt)); y <- as.numeric(txt)
                           abs(y - x) <= max(0.5 * 10^-d, 5e-7 * abs(y)) + 1e-12 }
  stopifnot(ok(s[["dydx"]], r$estimate), ok(s[["se"]], r$std_error), ok(s[["t"]], r$statistic),
            ok(s[["p"]], r$p_value_t), ok(s[["lo"]], r$conf_low_t), ok(s[["hi"]], r$conf_high_t))
}
add("stata_published_mtcars", paste0(callm, "; V <- vcov(m); ", ame_calls("mtcars", gm)),
    list(stata = "quietly reg mpg cyl c.hp##c.wt   (R's mtcars)\nmargins, dydx(*)",
         source = "Stata output printed in the R package margins' vignette 'Comparison with Stata's margins command' (T. Leeper)",
         stata_printed = lapply(stata_printed, as.list),
         ame = mt_ame,
         tolerance = "half a unit of the last printed digit or 5e-7 relative, whichever is larger (Stata's margins differentiates numerically)",
         note = "checks the AME/delta-method/t-inference convention against Stata itself (the script stops if any printed number disagrees beyond the tolerance)"))

# ======================= B. predictions =======================
# B1: lm confidence and prediction intervals at new data (first 5 rows, value and capital * 1.1)
nd <- grunfeld[1:5, c("firm", "year", "value", "capital")]
nd$value <- nd$value * 1.1; nd$capital <- nd$capital * 1.1
rownames(nd) <- NULL
callp <- "m <- lm(inv ~ value + capital, data = grunfeld)"
mp <- E(callp)
pc <- predict(mp, newdata = nd, interval = "confidence", level = 0.95)
pp <- predict(mp, newdata = nd, interval = "prediction", level = 0.95)
se <- predict(mp, newdata = nd, se.fit = TRUE)
add("predict_lm_confidence",
    paste0(callp, '; nd <- grunfeld[1:5, c("firm", "year", "value", "capital")]; nd$value <- nd$value * 1.1; nd$capital <- nd$capital * 1.1; ',
           'predict(m, newdata = nd, interval = "confidence", level = 0.95); predict(m, newdata = nd, se.fit = TRUE)'),
    list(stata = "regress inv value capital\npredict xb, xb\npredict stdp, stdp   (CI: xb -/+ invttail(e(df_r), .025) * stdp)",
         newdata = list(firm = nd$firm, year = nd$year, value = nd$value, capital = nd$capital),
         params = named(coef(mp)), vcov = mat(vcov(mp)), sigma = summary(mp)$sigma, df_resid = mp$df.residual,
         fit = as.numeric(pc[, "fit"]), lwr = as.numeric(pc[, "lwr"]), upr = as.numeric(pc[, "upr"]),
         se_fit = as.numeric(se$se.fit)))
add("predict_lm_prediction",
    paste0(callp, '; nd <- grunfeld[1:5, c("firm", "year", "value", "capital")]; nd$value <- nd$value * 1.1; nd$capital <- nd$capital * 1.1; ',
           'predict(m, newdata = nd, interval = "prediction", level = 0.95)'),
    list(stata = "regress inv value capital\npredict stdf, stdf   (PI: xb -/+ invttail(e(df_r), .025) * stdf, stdf = sqrt(stdp^2 + e(rmse)^2))",
         newdata = list(firm = nd$firm, year = nd$year, value = nd$value, capital = nd$capital),
         fit = as.numeric(pp[, "fit"]), lwr = as.numeric(pp[, "lwr"]), upr = as.numeric(pp[, "upr"]),
         se_pred = sqrt(as.numeric(se$se.fit)^2 + summary(mp)$sigma^2)))

# B2: within model: entity effects, vcov, and Stata's xtreg, fe predictions
callw <- 'm <- plm(inv ~ value + capital, data = pdata.frame(grunfeld, index = c("firm", "year")), model = "within")'
mw <- E(callw)
fe_level <- fixef(mw, type = "level"); fe_dmean <- fixef(mw, type = "dmean")
b <- coef(mw); Vw <- vcov(mw)
X <- as.matrix(grunfeld[, names(b)])
# Stata's _cons = ybar.. - xbar..'b = the T_i-weighted mean of alpha_i; u_i = alpha_i - _cons
cons <- mean(grunfeld$inv) - sum(colMeans(X) * b)
Ti <- table(grunfeld$firm)[names(fe_level)]
stopifnot(abs(cons - weighted.mean(as.numeric(fe_level), as.numeric(Ti))) < 1e-8)
# Stata's V of (b, _cons): OLS of y_it - ybar_i + ybar.. on x_it - xbar_i + xbar.. and 1, with s^2 = SSR/(N - n - K)
demean_plus <- function(v, g) v - ave(v, g) + mean(v)
aug <- data.frame(y = demean_plus(grunfeld$inv, grunfeld$firm),
                  value = demean_plus(grunfeld$value, grunfeld$firm),
                  capital = demean_plus(grunfeld$capital, grunfeld$firm))
ma <- lm(y ~ value + capital, data = aug)
s2 <- sum(resid(ma)^2) / df.residual(mw)
Vaug <- s2 * summary(ma)$cov.unscaled
stopifnot(relgap(coef(ma)[names(b)], b) < 1e-10, abs(coef(ma)[["(Intercept)"]] - cons) < 1e-8,
          relgap(Vaug[names(b), names(b)], Vw) < 1e-8)
# Stata's published xtreg invest mvalue kstock, fe on Grunfeld: _cons -58.74393 (12.45369)
stopifnot(abs(cons - -58.74393) < 5e-5 * 1.01, abs(sqrt(Vaug[1, 1]) - 12.45369) < 5e-5 * 1.01)
xb_w <- as.numeric(cons + as.matrix(nd[, names(b)]) %*% b)
alpha_nd <- as.numeric(fe_level[as.character(nd$firm)])
xbu_w <- as.numeric(as.matrix(nd[, names(b)]) %*% b) + alpha_nd
X0 <- cbind(1, as.matrix(nd[, names(b)]))
stdp_w <- sqrt(rowSums((X0 %*% Vaug) * X0))
# the same through the orthogonal decomposition: s^2/N + (x - xbar..)'V_b(x - xbar..)
dx <- sweep(as.matrix(nd[, names(b)]), 2, colMeans(X))
stopifnot(relgap(sqrt(s2 / nrow(grunfeld) + rowSums((dx %*% Vw) * dx)), stdp_w) < 1e-8)
# plm's own predict(): a pdata.frame newdata adds each firm's alpha_i (= Stata's xbu); a plain
# data.frame adds the weighted mean of the effects (= Stata's xb, with _cons)
p_pdf <- as.numeric(predict(mw, newdata = pdata.frame(nd, index = c("firm", "year"))))
p_df <- suppressWarnings(as.numeric(predict(mw, newdata = nd[, c("value", "capital")])))
stopifnot(relgap(p_pdf, xbu_w) < 1e-10, relgap(p_df, xb_w) < 1e-10)
add("within_fixef_predict",
    paste0(callw, '; fixef(m, type = "level"); fixef(m, type = "dmean"); vcov(m); ',
           'nd <- grunfeld[1:5, c("firm", "year", "value", "capital")]; nd$value <- nd$value * 1.1; nd$capital <- nd$capital * 1.1; ',
           'predict(m, newdata = pdata.frame(nd, index = c("firm", "year"))); predict(m, newdata = nd[, c("value", "capital")]); ',
           'b <- coef(m); cons <- mean(grunfeld$inv) - sum(colMeans(grunfeld[, names(b)]) * b); ',
           'dp <- function(v) v - ave(v, grunfeld$firm) + mean(v); ',
           'ma <- lm(dp(inv) ~ dp(value) + dp(capital), data = grunfeld); ',
           'Vaug <- sum(resid(ma)^2) / df.residual(m) * summary(ma)$cov.unscaled; ',
           'xb <- cons + as.matrix(nd[, names(b)]) %*% b; xbu <- as.matrix(nd[, names(b)]) %*% b + fixef(m)[as.character(nd$firm)]; ',
           'X0 <- cbind(1, as.matrix(nd[, names(b)])); stdp <- sqrt(rowSums((X0 %*% Vaug) * X0))'),
    list(stata = "xtset firm year\nxtreg inv value capital, fe\npredict xb, xb\npredict xbu, xbu\npredict u, u\npredict stdp, stdp",
         nobs = nobs(mw), df_resid = df.residual(mw), params = named(b), vcov = mat(Vw),
         sigma2 = as.numeric(deviance(mw) / df.residual(mw)),
         fixef_level = named(fe_level), fixef_level_se = named(setNames(attr(fe_level, "se"), names(fe_level))),
         fixef_dmean = named(fe_dmean),
         stata_cons = cons, stata_cons_se = sqrt(Vaug[1, 1]),
         stata_u = named(fe_level - cons),
         stata_vcov_with_cons = mat(Vaug),
         newdata = list(firm = nd$firm, year = nd$year, value = nd$value, capital = nd$capital),
         xb = xb_w, xbu = xbu_w, stdp = stdp_w,
         plm_predict_pdata_frame = p_pdf, plm_predict_data_frame = p_df,
         note = paste("alpha_i = fixef level = ybar_i - xbar_i'b. Stata: _cons = ybar.. - xbar..'b (the T_i-weighted mean of alpha_i),",
                      "u_i = alpha_i - _cons, xb = _cons + x'b, xbu = _cons + x'b + u_i = alpha_i + x'b,",
                      "stdp = sqrt(x0' V x0) with x0 = (1, x) and V the (_cons, b) vcov of the mean-augmented within",
                      "regression (= sqrt(s2/N + (x - xbar..)'V_b(x - xbar..))); it excludes the uncertainty of u_i.",
                      "fixef_dmean = plm's alpha_i minus the mean of the effects; equal to stata_u on this balanced panel")))

# B3: lme4 predictions: re.form = NULL (conditional on the BLUPs) vs NA (fixed part only)
calll <- 'm <- lmer(Reaction ~ Days + (Days | Subject), data = sleep, REML = TRUE, control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))'
ml <- E(calll)
ndl <- data.frame(Subject = factor(c("308", "308", "309", "999")), Days = c(0, 5, 9, 3))
p_null <- predict(ml, newdata = ndl, re.form = NULL, allow.new.levels = TRUE)
p_na <- predict(ml, newdata = ndl, re.form = NA)
re <- ranef(ml)$Subject
stopifnot(abs(p_null[4] - p_na[4]) < 1e-10)
add("lme4_predict_re_form",
    paste0(calll, '; nd <- data.frame(Subject = factor(c("308", "308", "309", "999")), Days = c(0, 5, 9, 3)); ',
           'predict(m, newdata = nd, re.form = NULL, allow.new.levels = TRUE); predict(m, newdata = nd, re.form = NA)'),
    list(stata = "mixed Reaction Days || Subject: Days, covariance(unstructured) reml\npredict xb, xb   (= re.form = NA)\npredict fitted, fitted   (= re.form = NULL)",
         newdata = list(Subject = as.character(ndl$Subject), Days = ndl$Days),
         fixef = named(fixef(ml)), vcov = mat(as.matrix(vcov(ml))),
         ranef = list(Subject = rownames(re), intercept = re[, "(Intercept)"], Days = re[, "Days"]),
         re_form_NULL = as.numeric(p_null), re_form_NA = as.numeric(p_na),
         note = paste("re.form = NULL: X b + Z u (conditional on the predicted random effects);",
                      "re.form = NA (or ~0): X b only. Subject 999 is new: with allow.new.levels = TRUE its random",
                      "effects are 0, so both give X b")))

# ---------- write ----------
gaps <- sapply(checks, function(x) max(unlist(x)))
cat(sprintf("%-45s estimate %.2e  std_error %.2e\n", names(checks), sapply(checks, `[[`, 1), sapply(checks, `[[`, 2)), sep = "")
stopifnot(all(gaps < 1e-8))
writeLines(toJSON(list(
  generated_by = "make_margins_reference.R",
  R = R.version.string,
  packages = list(plm = as.character(packageVersion("plm")), sandwich = as.character(packageVersion("sandwich")),
                  lme4 = as.character(packageVersion("lme4")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  marginaleffects = paste("not installed: install.packages('marginaleffects') could not reach CRAN",
                          "('package marginaleffects is not available for this version of R'); each AME is computed",
                          "analytically and checked against a marginaleffects-style numerical computation (numeric_*)"),
  checks = list(description = "largest relative gap between the analytic AME (stored) and the numerical one, per case:variable",
                gaps = as.list(gaps)),
  cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE), "margins_r.json")
cat(length(cases), "cases written to margins_r.json\n")
