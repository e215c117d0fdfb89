# Reference values for panelre's wild cluster bootstrap (tests/reference/bootstrap/).
# Run from this folder:  Rscript make_bootstrap_reference.R        (R 4.2.2, sandwich, jsonlite)
# Writes wild_bootstrap_r.json. No random numbers are drawn anywhere: every bootstrap
# distribution is the FULL ENUMERATION of the wild weights (2^G Rademacher sign vectors,
# or 6^G Webb vectors), so every number below is a deterministic function of the data.
#
# This is a deliberately simple brute-force implementation: for every weight vector the
# bootstrap sample y* is built explicitly and re-fitted by least squares (lm.fit, the engine
# of lm()), and the CR1 standard error is recomputed from that refit's own residuals. No
# algebraic shortcut of Roodman et al. (2019) is used. (fwildclusterboot is not installable
# for R 4.2.2 here, so it could not be run as a cross-check.)
#
# CONVENTIONS (those of Stata boottest >= 2.0.6 / 3.x / 4.x, Roodman, MacKinnon, Nielsen & Webb
# 2019, "Fast and wild", Stata Journal 19(1):4-60, and of R fwildclusterboot; checked against
# boottest.mata getp()/makeWildWeights() and fwildclusterboot:::get_bootstrap_pvalue()):
#  * Model y = X b + u, OLS; test H0: b_j = r. Clustering = bootstrap clustering (one-way).
#  * Standard error: CR1 with Stata's small-sample factor  G/(G-1) * (N-1)/(N-k)  (what
#    `regress, cluster()` and boottest's default `small` use; k = rank of X including the
#    intercept and any fixed-effect dummies). The same factor multiplies the original and all
#    bootstrap variances, so p-values and confidence sets do not depend on it; only the
#    reported t does. Checked against sandwich::vcovCL(type = "HC1", cadjust = TRUE).
#  * t = (b_j - r) / se.
#  * WCR (restricted, boottest default): fit the restricted model (b_j = r imposed, i.e.
#    regress y - r*x_j on the other columns); y*_ig = yhat_R,ig + v_g * uhat_R,ig;
#    refit the unrestricted model on y*; t*_b = (b*_j - r) / se*_b.
#  * WCU (unrestricted, boottest `nonull`): y*_ig = yhat_ig + v_g * uhat_ig;
#    t*_b = (b*_j - b_j) / se*_b  (bootstrap t centred at the estimate).
#  * Weights: Rademacher v_g = +-1, all 2^G vectors once each (boottest enumerates exactly
#    this set when reps >= 2^G; its Dist[1] is the original t and is NOT one of the B draws).
#    Webb: v_g in {+-sqrt(1/2), +-1, +-sqrt(3/2)}, all 6^G vectors once each (boottest never
#    enumerates Webb; full enumeration is the B -> infinity limit of its Webb bootstrap).
#    B = number of enumerated vectors is the denominator of every p-value.
#  * p-values, boottest / fwildclusterboot convention: STRICT inequalities, ties not counted
#    (boottest >= 2.0.6: "ties are no longer (half-)counted"):
#      p_symmetric = #{b : |t*_b| > |t|} / B
#      p_equaltail = 2 * min( #{b : t*_b < t}, #{b : t*_b > t} ) / B
#    Ties are structural, not accidental: under WCR every constant weight vector (v = c*1)
#    reproduces the original sample up to scale, so t* = sign(c) * t exactly (2 such vectors
#    for Rademacher, 6 for Webb); under WCU a constant vector gives t* = 0. Because floating
#    point makes these t* equal to t only to ~1e-14, a tie is declared when
#    | |t*| - |t| | <= 1e-9 * max(1, |t|); n_ties reports how many were found (it equals the
#    number of constant weight vectors for WCR, 0 for WCU). For comparison the "weak"
#    versions that DO count ties are also stored:
#      p_symmetric_weak = #{|t*| >= |t|} / B,
#      p_equaltail_weak = min(1, 2 * min(#{t* <= t}, #{t* >= t}) / B).
#  * Confidence set (level 95%) by test inversion of p_symmetric, as boottest does:
#    CS = {r : p_symmetric(r) >= 0.05}. For WCR the restricted model, the bootstrap samples
#    and all 2^G / 6^G refits are redone at every trial r; for WCU the bootstrap
#    distribution does not depend on r and only t(r) = (b_j - r)/se moves.
#    p(r) is a step function (values n/B); since 0.05*B is not an integer for B = 32, 1024,
#    4096, 7776, p(r) never equals 0.05 and ">= 0.05" vs "> 0.05" cannot matter.
#    Search: from r = b_j (where p is ~1) step outwards to b_j -+ m*se, m = 1, 2, 4, ...,
#    2^12 until p < 0.05 (if never: the bound is reported as null and ci_*_unbounded = TRUE);
#    then bisect on r between the last accepted and first rejected point until the bracket
#    is < 1e-8 wide; the reported bound is the MIDPOINT of that final bracket, so it lies
#    within 5e-9 of the jump of p(r) across 0.05. (boottest uses Chandrupatla's method with
#    ptol 1e-6 and may settle anywhere on the same jump; a consumer should compare bounds
#    with a tolerance of ~1e-6 relative.) A 41-point grid over [lower, upper] is then
#    checked: ci_single_interval = TRUE means p >= 0.05 at every grid point, i.e. no holes
#    were detected inside the reported interval.
suppressPackageStartupMessages({library(sandwich); library(jsonlite)})

grunfeld <- read.csv(gzfile("../../../panelre/datasets/data/grunfeld.csv.gz"))
TIE_TOL <- 1e-9
BISECT_TOL <- 1e-8
LEVEL <- 0.95

webb_values <- c(-sqrt(3 / 2), -1, -sqrt(1 / 2), sqrt(1 / 2), 1, sqrt(3 / 2))

# all weight vectors, one per row (G columns)
enumerate_weights <- function(G, weights) {
  vals <- switch(weights, rademacher = c(-1, 1), webb = webb_values)
  as.matrix(expand.grid(rep(list(vals), G), KEEP.OUT.ATTRS = FALSE))
}

# CR1 t statistic of coefficient j, brute force: refit y on X by least squares
cr1_fit <- function(X, y, cl_index, G, j) {
  fit <- lm.fit(X, y)
  if (fit$rank < ncol(X)) stop("rank-deficient design")
  N <- nrow(X); k <- ncol(X)
  bread <- solve(crossprod(X))
  scores <- rowsum(X * fit$residuals, cl_index, reorder = TRUE)   # G x k cluster scores
  V <- bread %*% crossprod(scores) %*% bread * (G / (G - 1)) * ((N - 1) / (N - k))
  list(b = unname(fit$coefficients[j]), se = sqrt(V[j, j]),
       fitted = y - fit$residuals, resid = fit$residuals)
}

restricted_fit <- function(X, y, j, r) {
  fr <- lm.fit(X[, -j, drop = FALSE], y - r * X[, j])
  list(fitted = y - fr$residuals, resid = fr$residuals)
}

# bootstrap t distribution (length B) by refitting every enumerated sample
boot_t <- function(X, cl_index, G, j, W, base_fitted, base_resid, center) {
  apply(W, 1, function(v) {
    ystar <- base_fitted + v[cl_index] * base_resid
    f <- cr1_fit(X, ystar, cl_index, G, j)
    (f$b - center) / f$se
  })
}

pvalues <- function(t, tb) {
  tol <- TIE_TOL * max(1, abs(t))
  B <- length(tb)
  c(p_symmetric = sum(abs(tb) > abs(t) + tol) / B,
    p_equaltail = 2 * min(sum(tb < t - tol), sum(tb > t + tol)) / B,
    p_symmetric_weak = sum(abs(tb) >= abs(t) - tol) / B,
    p_equaltail_weak = min(1, 2 * min(sum(tb <= t + tol), sum(tb >= t - tol)) / B),
    n_ties = sum(abs(abs(tb) - abs(t)) <= tol))
}

# the whole test for one (design, r, type); returns t, the distribution and p-values
wild_test <- function(X, y, cl_index, G, j, r, W, type, full = NULL) {
  if (is.null(full)) full <- cr1_fit(X, y, cl_index, G, j)
  t <- (full$b - r) / full$se
  if (type == "WCR") {
    rf <- restricted_fit(X, y, j, r)
    tb <- boot_t(X, cl_index, G, j, W, rf$fitted, rf$resid, center = r)
  } else {
    tb <- boot_t(X, cl_index, G, j, W, full$fitted, full$resid, center = full$b)
  }
  list(t = t, tb = tb, p = pvalues(t, tb), full = full)
}

# confidence set by inversion of the symmetric p-value
invert_ci <- function(X, y, cl_index, G, j, W, type) {
  full <- cr1_fit(X, y, cl_index, G, j)
  alpha <- 1 - LEVEL
  if (type == "WCU") {   # distribution of t* does not depend on r
    tb <- wild_test(X, y, cl_index, G, j, full$b, W, "WCU", full)$tb
    p_of <- function(r) pvalues((full$b - r) / full$se, tb)[["p_symmetric"]]
  } else {
    p_of <- function(r) wild_test(X, y, cl_index, G, j, r, W, "WCR", full)$p[["p_symmetric"]]
  }
  evals <- 0L
  p_count <- function(r) { evals <<- evals + 1L; p_of(r) }
  bound <- function(side) {
    inside <- full$b; m <- 1
    repeat {
      trial <- full$b + side * m * full$se
      if (p_count(trial) < alpha) break
      inside <- trial
      if (m >= 2^12) return(list(value = NA_real_, unbounded = TRUE))
      m <- 2 * m
    }
    outside <- trial
    while (abs(outside - inside) > BISECT_TOL) {
      mid <- (inside + outside) / 2
      if (p_count(mid) >= alpha) inside <- mid else outside <- mid
    }
    list(value = (inside + outside) / 2, unbounded = FALSE)
  }
  stopifnot(p_count(full$b) >= alpha)
  lo <- bound(-1); hi <- bound(+1)
  single <- NA
  if (!lo$unbounded && !hi$unbounded) {
    grid <- seq(lo$value, hi$value, length.out = 43)[2:42]
    single <- all(vapply(grid, p_count, numeric(1)) >= alpha)
  }
  list(ci_lower = lo$value, ci_upper = hi$value, ci_lower_unbounded = lo$unbounded,
       ci_upper_unbounded = hi$unbounded, ci_single_interval = single, ci_p_evaluations = evals)
}

datasets <- list(
  grunfeld = list(data = grunfeld, rule = "all 10 firms x 20 years (N = 200)"),
  grunfeld_firms1to5 = list(data = grunfeld[grunfeld$firm %in% 1:5, ],
                            rule = "grunfeld[grunfeld$firm %in% 1:5, ] (5 firms x 20 years, N = 100)")
)

cases <- list()
run_case <- function(id, dataset, formula, param, r, weights, type, ci = TRUE, keep_dist = FALSE) {
  t0 <- proc.time()[["elapsed"]]
  d <- datasets[[dataset]]$data
  d <- d[order(d$firm, d$year), ]
  fml <- as.formula(formula)
  fit <- lm(fml, data = d)
  X <- model.matrix(fit); y <- model.response(model.frame(fit))
  cl <- d$firm; cl_index <- match(cl, sort(unique(cl))); G <- length(unique(cl))
  j <- match(param, colnames(X))
  W <- enumerate_weights(G, weights)
  res <- wild_test(X, y, cl_index, G, j, r, W, type)
  # cross-checks: brute-force CR1 = sandwich's CR1 (HC1 + cadjust), and one bootstrap
  # draw recomputed with lm() + vcovCL() gives the same t*
  se_sandwich <- sqrt(diag(vcovCL(fit, cluster = ~firm, type = "HC1", cadjust = TRUE)))[[param]]
  stopifnot(abs(res$full$se / se_sandwich - 1) < 1e-10, abs(res$full$b - coef(fit)[[param]]) < 1e-10)
  b_check <- min(7L, nrow(W)); v <- W[b_check, ]
  base <- if (type == "WCR") restricted_fit(X, y, j, r) else res$full[c("fitted", "resid")]
  d_star <- d; d_star[[all.vars(fml)[1]]] <- base$fitted + v[cl_index] * base$resid
  fit_star <- lm(fml, data = d_star)
  t_check <- (coef(fit_star)[[param]] - (if (type == "WCR") r else res$full$b)) /
    sqrt(diag(vcovCL(fit_star, cluster = ~firm, type = "HC1", cadjust = TRUE)))[[param]]
  stopifnot(abs(t_check - res$tb[b_check]) < 1e-8 * max(1, abs(t_check)))
  expected_ties <- if (type == "WCR") length(unique(W[, 1])) else 0   # constant vectors
  stopifnot(res$p[["n_ties"]] == expected_ties)

  out <- list(
    id = id,
    call = sprintf(paste0("wild_cluster_boot_enum(lm(%s, data = %s), cluster = ~firm, ",
                          "param = \"%s\", r = %s, weights = \"%s\", type = \"%s\", ",
                          "small = TRUE, ptype = c(\"symmetric\", \"equaltail\"), level = %s)"),
                   formula, dataset, param, format(r), weights, type, format(LEVEL)),
    dataset = dataset, data_rule = datasets[[dataset]]$rule,
    formula = formula, cluster = "firm", n_obs = nrow(X), n_clusters = G, k = ncol(X),
    small_sample_factor = (G / (G - 1)) * ((nrow(X) - 1) / (nrow(X) - ncol(X))),
    param = param, r = r, weights = weights, type = type,
    n_draws = nrow(W), enumerated = TRUE,
    estimate = res$full$b, se_cr1 = res$full$se, t_stat = res$t,
    p_symmetric = res$p[["p_symmetric"]], p_equaltail = res$p[["p_equaltail"]],
    p_symmetric_weak = res$p[["p_symmetric_weak"]], p_equaltail_weak = res$p[["p_equaltail_weak"]],
    n_ties = res$p[["n_ties"]],
    count_abs_greater = round(res$p[["p_symmetric"]] * nrow(W)),
    p_t_analytic_Gm1 = 2 * pt(-abs(res$t), df = G - 1)
  )
  if (ci) out <- c(out, invert_ci(X, y, cl_index, G, j, W, type), list(ci_level = LEVEL))
  if (keep_dist) out$t_boot_sorted <- sort(res$tb)
  out$seconds <- round(proc.time()[["elapsed"]] - t0, 1)
  message(sprintf("%-34s t=%9.5f p_sym=%.6f p_et=%.6f ci=[%s, %s] (%.1fs)", id, out$t_stat,
                  out$p_symmetric, out$p_equaltail, format(out$ci_lower, digits = 10),
                  format(out$ci_upper, digits = 10), out$seconds))
  cases[[length(cases) + 1]] <<- out
}

# a. pooled OLS, G = 10, Rademacher, 1024 draws
for (param in c("value", "capital")) for (type in c("WCR", "WCU"))
  run_case(sprintf("pooled_%s_rademacher_%s", param, tolower(type)), "grunfeld",
           "inv ~ value + capital", param, 0, "rademacher", type)
# b. firm fixed effects as dummies, cluster = firm, G = 10, Rademacher
for (type in c("WCR", "WCU"))
  run_case(sprintf("firmdummies_value_rademacher_%s", tolower(type)), "grunfeld",
           "inv ~ value + capital + factor(firm)", "value", 0, "rademacher", type)
# c. firms 1..5, G = 5: Webb (6^5 = 7776 draws) and Rademacher (2^5 = 32 draws)
for (w in c("webb", "rademacher")) for (type in c("WCR", "WCU"))
  run_case(sprintf("firms1to5_value_%s_%s", w, tolower(type)), "grunfeld_firms1to5",
           "inv ~ value + capital", "value", 0, w, type, keep_dist = (w == "rademacher"))
# d. non-zero null
run_case("pooled_value_r0.1_rademacher_wcr", "grunfeld", "inv ~ value + capital", "value",
         0.1, "rademacher", "WCR")

out <- list(
  generated_by = "tests/reference/bootstrap/make_bootstrap_reference.R (brute-force full enumeration; conventions in the script header)",
  R = R.version.string,
  packages = list(sandwich = as.character(packageVersion("sandwich")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  conventions = list(
    small_sample_factor = "CR1: G/(G-1)*(N-1)/(N-k), k = rank of X incl. intercept and dummies (Stata regress/boottest `small`)",
    t_stat = "t = (b_j - r)/se_CR1",
    WCR = "restricted residuals/fitted values (b_j = r imposed); t* = (b*_j - r)/se*",
    WCU = "unrestricted residuals/fitted values; t* = (b*_j - b_j)/se*",
    draws = "full enumeration: all 2^G Rademacher or 6^G Webb vectors, each once; B = that count; original t not among the draws",
    p_symmetric = "#{|t*| > |t|}/B (strict; ties not counted, as boottest >= 2.0.6 and fwildclusterboot)",
    p_equaltail = "2*min(#{t* < t}, #{t* > t})/B (strict)",
    weak_variants = "p_symmetric_weak = #{|t*| >= |t|}/B; p_equaltail_weak = min(1, 2*min(#{t* <= t}, #{t* >= t})/B)",
    ties = "tie if ||t*|-|t|| <= 1e-9*max(1,|t|); under WCR exactly the constant weight vectors tie (2 Rademacher, 6 Webb)",
    confidence_set = "{r : p_symmetric(r) >= 0.05}; doubling search from b_j in steps of se, then bisection on r to a bracket < 1e-8; bound = bracket midpoint; null + ci_*_unbounded if p >= 0.05 out to b_j -+ 4096 se"
  ),
  cases = cases
)
write_json(out, "wild_bootstrap_r.json", auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null")
message("wrote wild_bootstrap_r.json with ", length(cases), " cases")
