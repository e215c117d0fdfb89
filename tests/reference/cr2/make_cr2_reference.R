# CR2 (Bell-McCaffrey / Pustejovsky-Tipton) cluster-robust reference results computed by R's
# clubSandwich, for checking panelre against software no one on this project wrote.
#
# Run from this folder (tests/reference/cr2/):   Rscript make_cr2_reference.R
# Needs R with plm, sandwich, clubSandwich, jsonlite (versions are written into the JSON).
#
# Writes cr2_r.json here.  Every case carries
#   "call"    the exact R code that produced its numbers (data set-up in "data"),
#   "params", "std_errors" (CR2), "df_satterthwaite", "pvalues" (Satterthwaite t test),
#   "vcov" (CR2, row-major, same order as params), "n_clusters", "nobs",
#   "std_errors_cr0", "std_errors_cr1", "std_errors_cr1s" (clubSandwich types CR0/CR1/CR1S).
# For every case clubSandwich's numbers are also recomputed from scratch with plain matrix
# algebra (independent_check: full dummy-variable hat matrix, N x N Satterthwaite
# formula) and CR0/CR1/CR1S are cross-checked against sandwich::vcovCL / plm::vcovHC.
suppressMessages({ library(plm); library(sandwich); library(clubSandwich); library(jsonlite) })
options(warn = 1)
t_start <- proc.time()[["elapsed"]]

data_dir <- file.path("..", "..", "..", "panelre", "datasets", "data")
if (!file.exists(file.path(data_dir, "grunfeld.csv.gz"))) stop("run from tests/reference/cr2/")
E <- function(code) eval(parse(text = code), envir = .GlobalEnv)
named <- function(v, nm = names(v)) { l <- as.list(as.numeric(v)); names(l) <- nm; l }

# ---------------------------------------------------------------- data
data_code <- c(
  grunfeld = 'grunfeld <- read.csv(gzfile("../../../panelre/datasets/data/grunfeld.csv.gz"))',
  grunfeld_unbal = 'grunfeld_unbal <- subset(grunfeld, !(year %% 7 == 0 & firm %in% c(2, 5, 9)))',
  grunfeld_cl = 'grunfeld$cl <- ((grunfeld$firm - 1) %/% 3) + 1',
  wages = 'wages <- read.csv(gzfile("../../../panelre/datasets/data/wages.csv.gz"))',
  wagepan = 'wagepan <- read.csv(gzfile("../../../panelre/datasets/data/wagepan.csv.gz"))'
)
for (code in data_code) E(code)
stopifnot(nrow(grunfeld) == 200, nrow(grunfeld_unbal) == 191, nrow(wages) == 4165, nrow(wagepan) == 4360)
# all data files are sorted by (entity, time), so cluster vectors line up with plm's ordering
stopifnot(identical(order(grunfeld$firm, grunfeld$year), seq_len(200)),
          identical(order(grunfeld_unbal$firm, grunfeld_unbal$year), seq_len(191)))

# ---------------------------------------------------------------- one case
cases <- list()
fits <- list()
run_case <- function(id, model, cluster, data, subset = NULL, note = NULL, coefs = NULL) {
  m <- E(model)
  cl <- E(cluster)
  coefs_arg <- if (is.null(coefs)) "" else sprintf(", coefs = %s", deparse1(coefs))
  call <- sprintf('m <- %s; V <- vcovCR(m, cluster = %s, type = "CR2"); coef_test(m, vcov = V, test = "Satterthwaite"%s)',
                  model, cluster, coefs_arg)
  V <- vcovCR(m, cluster = cl, type = "CR2")
  ct <- coef_test(m, vcov = V, test = "Satterthwaite", coefs = if (is.null(coefs)) "All" else coefs)
  nm <- as.character(ct$Coef)
  dfcol <- if ("df_Satt" %in% names(ct)) "df_Satt" else "df"
  se_of <- function(type) sqrt(diag(vcovCR(m, cluster = cl, type = type)))[nm]
  Vk <- unclass(V)[nm, nm, drop = FALSE]
  attributes(Vk) <- list(dim = dim(Vk))
  fits[[id]] <<- list(m = m, cl = cl, V = V, ct = ct)
  cases[[id]] <<- c(list(
    id = id, call = call, data = unname(data_code[data]), model = model, cluster = cluster,
    type = "CR2", test = "Satterthwaite"),
    if (!is.null(subset)) list(subset = subset),
    if (!is.null(note)) list(note = note),
    list(
    params = named(ct$beta, nm),
    std_errors = named(ct$SE, nm),
    tstats = named(ct$tstat, nm),
    df_satterthwaite = named(ct[[dfcol]], nm),
    pvalues = named(ct$p_Satt, nm),
    vcov = Vk,
    n_clusters = nlevels(attr(V, "cluster")),
    nobs = length(attr(V, "cluster")),
    std_errors_cr0 = named(se_of("CR0"), nm),
    std_errors_cr1 = named(se_of("CR1"), nm),
    std_errors_cr1s = named(se_of("CR1S"), nm),
    clubsandwich_settings = list(
      inverse_var = attr(V, "inverse_var"), ignore_FE = attr(V, "ignore_FE"),
      target = if (inherits(m, "plm") && m$args$model == "random")
        "Phi_j = I + (sigma2_id/sigma2_idios) * 11' (plm ercomp), W_j = Phi_j^{-1}" else "identity")
  ))
  cat(sprintf("%-36s G=%3d n=%4d  %s\n", id, cases[[id]]$n_clusters, cases[[id]]$nobs,
              paste(sprintf("%s: se=%.6g df=%.4g", nm, ct$SE, ct[[dfcol]]), collapse = "; ")))
  invisible(m)
}

gf <- 'index = c("firm", "year")'
# 1 pooled OLS
run_case("grunfeld_pooled_ols_cl_firm", 'lm(inv ~ value + capital, data = grunfeld)', 'grunfeld$firm', "grunfeld")
# 2 one-way within, and the same model with explicit firm dummies
run_case("grunfeld_within_cl_firm",
         sprintf('plm(inv ~ value + capital, data = grunfeld, %s, model = "within")', gf), '"firm"', "grunfeld")
run_case("grunfeld_lsdv_lm_cl_firm", 'lm(inv ~ value + capital + factor(firm), data = grunfeld)', 'grunfeld$firm',
         "grunfeld", coefs = c("value", "capital"),
         note = "same model as grunfeld_within_cl_firm fitted by lm with explicit firm dummies; only value/capital stored (vcov is their 2x2 block)")
# 3 two-way within
run_case("grunfeld_twoways_cl_firm",
         sprintf('plm(inv ~ value + capital, data = grunfeld, %s, model = "within", effect = "twoways")', gf),
         '"firm"', "grunfeld")
# 4 random effects (Swamy-Arora, plm's default random.method)
run_case("grunfeld_random_swar_cl_firm",
         sprintf('plm(inv ~ value + capital, data = grunfeld, %s, model = "random", random.method = "swar")', gf),
         '"firm"', "grunfeld",
         note = "clubSandwich uses raw (untransformed) X with intercept, raw residuals y - X b, weights W_j = Phi_j^{-1}, Phi_j = I + r 11', r = sigma2_id/sigma2_idios from m$ercomp")
# 5 unbalanced, few clusters
unbal_rule <- "grunfeld rows with year %% 7 == 0 & firm %in% c(2, 5, 9) removed (years 1939, 1946, 1953 of firms 2, 5, 9; 191 rows)"
run_case("grunfeld_unbal_within_cl_firm",
         sprintf('plm(inv ~ value + capital, data = grunfeld_unbal, %s, model = "within")', gf), '"firm"',
         c("grunfeld", "grunfeld_unbal"), subset = unbal_rule)
run_case("grunfeld_unbal_pooled_ols_cl_firm", 'lm(inv ~ value + capital, data = grunfeld_unbal)', 'grunfeld_unbal$firm',
         c("grunfeld", "grunfeld_unbal"), subset = unbal_rule)
run_case("grunfeld_unbal_twoways_cl_firm",
         sprintf('plm(inv ~ value + capital, data = grunfeld_unbal, %s, model = "within", effect = "twoways")', gf),
         '"firm"', c("grunfeld", "grunfeld_unbal"), subset = unbal_rule)
# 6 clusters coarser than entities: cl = ((firm - 1) %/% 3) + 1 -> {1,2,3},{4,5,6},{7,8,9},{10}
cl_rule <- "cluster cl = ((firm - 1) %/% 3) + 1, i.e. firms {1,2,3}, {4,5,6}, {7,8,9}, {10}: G = 4 clusters"
cl_note <- paste("entity FE are nested in the (coarser) clusters; clubSandwich only drops the FE from the",
                 "hat matrix when the cluster factor is identical to the FE factor, so here it adds all 10 firm dummies to U")
run_case("grunfeld_within_cl_firmgroup3",
         sprintf('plm(inv ~ value + capital, data = grunfeld, %s, model = "within")', gf), 'grunfeld$cl',
         c("grunfeld", "grunfeld_cl"), subset = cl_rule, note = cl_note)
run_case("grunfeld_lsdv_lm_cl_firmgroup3", 'lm(inv ~ value + capital + factor(firm), data = grunfeld)', 'grunfeld$cl',
         c("grunfeld", "grunfeld_cl"), subset = cl_rule, coefs = c("value", "capital"),
         note = "explicit-dummy version of grunfeld_within_cl_firmgroup3; only value/capital stored")
run_case("grunfeld_pooled_ols_cl_firmgroup3", 'lm(inv ~ value + capital, data = grunfeld)', 'grunfeld$cl',
         c("grunfeld", "grunfeld_cl"), subset = cl_rule)
run_case("grunfeld_twoways_cl_firmgroup3",
         sprintf('plm(inv ~ value + capital, data = grunfeld, %s, model = "within", effect = "twoways")', gf),
         'grunfeld$cl', c("grunfeld", "grunfeld_cl"), subset = cl_rule,
         note = "hat matrix uses all firm and year dummies (S = model.matrix(~0 + individual + time))")
# 7 larger panels
run_case("wages_within_cl_id",
         'plm(lwage ~ exp + wks, data = wages, index = c("id", "time"), model = "within")', '"id"', "wages")
run_case("wagepan_within_cl_nr",
         'plm(lwage ~ exper + expersq + married + union, data = wagepan, index = c("nr", "year"), model = "within")',
         '"nr"', "wagepan")
run_case("wagepan_twoways_cl_nr",
         'plm(lwage ~ expersq + married + union, data = wagepan, index = c("nr", "year"), model = "within", effect = "twoways")',
         '"nr"', "wagepan")
run_case("wagepan_random_cl_nr",
         'plm(lwage ~ educ + black + hisp + exper + expersq + married + union, data = wagepan, index = c("nr", "year"), model = "random")',
         '"nr"', "wagepan")
run_case("wagepan_pooled_ols_cl_nr",
         'lm(lwage ~ educ + black + hisp + exper + expersq + married + union, data = wagepan)', 'wagepan$nr', "wagepan")

# ---------------------------------------------------------------- cross-checks of CR0/CR1/CR1S
# clubSandwich: CR1 = G/(G-1) * CR0; CR1S = G/(G-1) * (N-1)/(N-p) * CR0, p = number of columns of
# the (demeaned, for within) model matrix, i.e. absorbed FE are NOT counted in p.
maxdiff <- function(a, b) max(abs(as.matrix(a) - as.matrix(b)))
crosscheck <- list()
for (id in names(fits)) {
  f <- fits[[id]]; m <- f$m
  nm <- names(cases[[id]]$params)
  if (inherits(m, "lm")) {
    cl <- f$cl
    d <- c(
      CR0_vs_vcovCL_HC0 = maxdiff(sqrt(diag(vcovCL(m, cluster = cl, type = "HC0", cadjust = FALSE)))[nm], unlist(cases[[id]]$std_errors_cr0)),
      CR1_vs_vcovCL_HC0_cadjust = maxdiff(sqrt(diag(vcovCL(m, cluster = cl, type = "HC0", cadjust = TRUE)))[nm], unlist(cases[[id]]$std_errors_cr1)),
      CR1S_vs_vcovCL_HC1 = maxdiff(sqrt(diag(vcovCL(m, cluster = cl, type = "HC1")))[nm], unlist(cases[[id]]$std_errors_cr1s)))
  } else if (m$args$model == "within" && identical(cases[[id]]$cluster, sprintf('"%s"', names(index(m))[1]))) {
    d <- c(
      CR0_vs_plm_vcovHC_arellano_HC0 = maxdiff(sqrt(diag(vcovHC(m, method = "arellano", type = "HC0", cluster = "group")))[nm], unlist(cases[[id]]$std_errors_cr0)),
      CR1S_vs_plm_vcovHC_arellano_sss = maxdiff(sqrt(diag(vcovHC(m, method = "arellano", type = "sss", cluster = "group")))[nm], unlist(cases[[id]]$std_errors_cr1s)))
  } else next
  crosscheck[[id]] <- as.list(d)
  if (any(d > 1e-9 * max(unlist(cases[[id]]$std_errors_cr0)))) warning(sprintf("%s: CR0/CR1 cross-check differs: %s", id, paste(names(d), signif(d, 3), collapse = ", ")))
}

# ---------------------------------------------------------------- independent recomputation
# Plain matrix algebra (Pustejovsky & Tipton 2018, JBES, eqs. for CR2 and the Satterthwaite df):
#   M = (X'WX)^{-1};  H = U (U'WU)^+ U'W  (U = X plus ALL fixed-effect dummies);  Phi = W^{-1}
#   A_j = D_j' [D_j ((I - H) Phi)_jj D_j']^{+1/2} D_j,  D_j = chol(Phi_j)  (upper, D_j'D_j = Phi_j)
#   V = M [sum_j X_j'W_j A_j e_j e_j' A_j W_j X_j] M
#   df_k = tr(Q_k)^2 / tr(Q_k^2),  Q_k = G_k' (I - H) Phi (I - H)' G_k,
#   G_k = N x J, column j = (A_j W_j X_j M c_k) placed in cluster j's rows, zero elsewhere.
# Pseudo-inverse square roots use an eigenvalue cut-off 1e-10 (clubSandwich uses 1e-12).
mpow <- function(A, p, tol = 1e-10) {
  e <- eigen((A + t(A)) / 2, symmetric = TRUE)
  v <- ifelse(e$values > tol, e$values^p, 0)
  e$vectors %*% (v * t(e$vectors))
}
bdiag_list <- function(blocks) {
  n <- sum(sapply(blocks, nrow)); out <- matrix(0, n, n); s <- 0
  for (b in blocks) { k <- nrow(b); out[s + seq_len(k), s + seq_len(k)] <- b; s <- s + k }
  out
}
hand_cr2 <- function(X, y, U, cluster, W = diag(nrow(X))) {
  cluster <- factor(cluster)
  idx <- split(seq_len(nrow(X)), cluster)
  stopifnot(identical(unlist(idx, use.names = FALSE), seq_len(nrow(X))))  # sorted by cluster
  N <- nrow(X); J <- length(idx)
  M <- solve(crossprod(X, W %*% X))
  b <- M %*% crossprod(X, W %*% y)
  e <- y - X %*% b
  Phi <- solve(W)
  H <- U %*% mpow(crossprod(U, W %*% U), -1) %*% crossprod(U, W)
  IHPhi <- (diag(N) - H) %*% Phi
  A <- lapply(idx, function(ix) {
    D <- chol(Phi[ix, ix, drop = FALSE])
    t(D) %*% mpow(D %*% IHPhi[ix, ix, drop = FALSE] %*% t(D), -1 / 2) %*% D
  })
  comps <- sapply(seq_len(J), function(j) { ix <- idx[[j]]
    t(X[ix, , drop = FALSE]) %*% W[ix, ix, drop = FALSE] %*% A[[j]] %*% e[ix] })
  comps <- matrix(comps, nrow = ncol(X))
  V <- M %*% tcrossprod(comps) %*% M
  Omega <- IHPhi %*% t(diag(N) - H)     # (I-H) Phi (I-H)'
  df <- sapply(seq_len(ncol(X)), function(k) {
    G <- matrix(0, N, J)
    for (j in seq_len(J)) { ix <- idx[[j]]
      G[ix, j] <- A[[j]] %*% W[ix, ix, drop = FALSE] %*% X[ix, , drop = FALSE] %*% M[, k] }
    Q <- crossprod(G, Omega %*% G)
    sum(diag(Q))^2 / sum(Q^2)
  })
  list(b = drop(b), V = V, se = sqrt(diag(V)), df = df)
}
dummies <- function(f) model.matrix(~ 0 + factor(f))
demean <- function(x, g) x - ave(x, g)
compare <- function(id, h, keep = seq_along(h$b), note) {
  cs <- cases[[id]]
  d <- c(params = maxdiff(h$b[keep], unlist(cs$params)),
         vcov = maxdiff(h$V[keep, keep], cs$vcov),
         std_errors = maxdiff(h$se[keep], unlist(cs$std_errors)),
         df_satterthwaite = maxdiff(h$df[keep], unlist(cs$df_satterthwaite)))
  rel <- c(std_errors_rel = max(abs(h$se[keep] / unlist(cs$std_errors) - 1)),
           df_rel = max(abs(h$df[keep] / unlist(cs$df_satterthwaite) - 1)))
  cat(sprintf("independent check %-36s %s\n", id, paste(names(c(d, rel)), signif(c(d, rel), 3), collapse = " ")))
  c(list(method = note), as.list(c(d, rel)))
}
indep <- list()
g <- grunfeld; y <- g$inv; X0 <- cbind(1, g$value, g$capital); Df <- dummies(g$firm); Dt <- dummies(g$year)
Xw <- cbind(demean(g$value, g$firm), demean(g$capital, g$firm)); yw <- demean(y, g$firm)
indep$grunfeld_pooled_ols_cl_firm <- compare("grunfeld_pooled_ols_cl_firm", hand_cr2(X0, y, X0, g$firm),
  note = "X = [1, value, capital], U = X, W = Phi = I")
indep$grunfeld_within_cl_firm <- compare("grunfeld_within_cl_firm", hand_cr2(Xw, yw, cbind(Xw, Df), g$firm),
  note = "X = firm-demeaned [value, capital], U = [X, firm dummies] (full LSDV hat matrix), W = I")
indep$grunfeld_within_cl_firm__absorbed_hat <- compare("grunfeld_within_cl_firm", hand_cr2(Xw, yw, Xw, g$firm),
  note = "same but U = demeaned X only (FE absorbed, P&T 2018 Theorem 2: identical because FE nested in clusters)")
indep$grunfeld_lsdv_lm_cl_firm <- compare("grunfeld_lsdv_lm_cl_firm", hand_cr2(cbind(X0, Df[, -1]), y, cbind(X0, Df[, -1]), g$firm),
  keep = 2:3, note = "X = U = [1, value, capital, firm dummies 2..10], W = I")
# two-way: balanced panel -> two-way demeaning
dm2 <- function(x) x - ave(x, g$firm) - ave(x, g$year) + mean(x)
X2 <- cbind(dm2(g$value), dm2(g$capital))
indep$grunfeld_twoways_cl_firm <- compare("grunfeld_twoways_cl_firm", hand_cr2(X2, dm2(y), cbind(X2, Df, Dt), g$firm),
  note = "X = two-way demeaned [value, capital], U = [X, firm dummies, year dummies], W = I")
indep$grunfeld_within_cl_firmgroup3 <- compare("grunfeld_within_cl_firmgroup3", hand_cr2(Xw, yw, cbind(Xw, Df), g$cl),
  note = "X = firm-demeaned, U = [X, firm dummies], clusters cl")
indep$grunfeld_within_cl_firmgroup3__absorbed_hat <- compare("grunfeld_within_cl_firmgroup3", hand_cr2(Xw, yw, Xw, g$cl),
  note = "same but U = demeaned X only (firm FE nested in cl, Theorem 2)")
indep$grunfeld_pooled_ols_cl_firmgroup3 <- compare("grunfeld_pooled_ols_cl_firmgroup3", hand_cr2(X0, y, X0, g$cl),
  note = "X = U = [1, value, capital], clusters cl")
indep$grunfeld_twoways_cl_firmgroup3 <- compare("grunfeld_twoways_cl_firmgroup3", hand_cr2(X2, dm2(y), cbind(X2, Df, Dt), g$cl),
  note = "X = two-way demeaned, U = [X, firm dummies, year dummies], clusters cl")
# random effects: GLS with plm's variance components
mre <- fits$grunfeld_random_swar_cl_firm$m
r <- mre$ercomp$sigma2[["id"]] / mre$ercomp$sigma2[["idios"]]
Wre <- bdiag_list(lapply(table(g$firm), function(n) solve(diag(n) + r)))
indep$grunfeld_random_swar_cl_firm <- compare("grunfeld_random_swar_cl_firm", hand_cr2(X0, y, X0, g$firm, W = Wre),
  note = "GLS: X = U = [1, value, capital] (untransformed), W_j = (I + r 11')^{-1}, r = sigma2_id/sigma2_idios from plm")
# unbalanced: LSDV via explicit dummies (no demeaning shortcut for two-way)
gu <- grunfeld_unbal; yu <- gu$inv; X0u <- cbind(1, gu$value, gu$capital); Dfu <- dummies(gu$firm); Dtu <- dummies(gu$year)
Xwu <- cbind(demean(gu$value, gu$firm), demean(gu$capital, gu$firm))
indep$grunfeld_unbal_within_cl_firm <- compare("grunfeld_unbal_within_cl_firm", hand_cr2(Xwu, demean(yu, gu$firm), cbind(Xwu, Dfu), gu$firm),
  note = "unbalanced: X = firm-demeaned, U = [X, firm dummies]")
indep$grunfeld_unbal_pooled_ols_cl_firm <- compare("grunfeld_unbal_pooled_ols_cl_firm", hand_cr2(X0u, yu, X0u, gu$firm),
  note = "unbalanced: X = U = [1, value, capital]")
Xfull <- cbind(gu$value, gu$capital, Dfu, Dtu[, -1])
indep$grunfeld_unbal_twoways_cl_firm <- compare("grunfeld_unbal_twoways_cl_firm", hand_cr2(Xfull, yu, Xfull, gu$firm),
  keep = 1:2, note = "unbalanced two-way as explicit LSDV: X = U = [value, capital, firm dummies, year dummies 2..T]")

worst <- max(sapply(indep, function(z) max(z$std_errors_rel, z$df_rel)))
cat(sprintf("independent check: max relative difference (SE, df) = %.3g\n", worst))
if (worst > 1e-8) stop("independent recomputation disagrees with clubSandwich")

# ---------------------------------------------------------------- write
out <- list(
  generated_by = "make_cr2_reference.R",
  R = R.version.string,
  packages = lapply(c(clubSandwich = "clubSandwich", plm = "plm", sandwich = "sandwich", jsonlite = "jsonlite"),
                    function(p) as.character(packageVersion(p))),
  description = paste("CR2 cluster-robust covariances and Satterthwaite t tests from clubSandwich::vcovCR /",
                      "coef_test with default settings (target = working model, inverse_var = TRUE).",
                      "See README.md in this folder for the exact formulas."),
  cases = cases,
  crosscheck_sandwich = crosscheck,
  independent_check = indep
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), "cr2_r.json")
cat(sprintf("wrote cr2_r.json: %d cases in %.1f s\n", length(cases), proc.time()[["elapsed"]] - t_start))
