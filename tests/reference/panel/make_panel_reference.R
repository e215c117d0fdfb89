# Extra panel reference results computed by R's plm (and sandwich-style covariances from plm),
# for checking panelre against software no one on this project wrote.  Modelled on
# /work/shared/reference/make_reference.R; see README.md in this folder.
#
# Run from this folder (tests/reference/panel/):   Rscript make_panel_reference.R
# Needs Debian's r-base-core r-cran-plm r-cran-jsonlite (plm 2.6.2 was used).
#
# Writes:
#   plm_extra.json                 all cases; every case carries "call", the exact R expression
#                                  whose result is recorded (and "model_call" for covariances/tests
#                                  that are computed from a fitted model)
#   grunfeld_unbalanced.csv        the unbalanced Grunfeld panel, exactly the rows R used
#   ../../../datasets/wages.csv    plm's Wages (Cornwell & Rupert) with id/time columns added
#   ../../../panelre/datasets/data/wages.csv.gz   gzip -9 -n of the above
# It reads ../../../datasets/grunfeld.csv (identical to plm's Grunfeld) and
# ../../../datasets/wagepan.csv.
suppressMessages({ library(plm); library(jsonlite) })
options(warn = 1)
root <- file.path("..", "..", "..")
cases <- list()
failed <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x
named <- function(v) { l <- as.list(as.numeric(v)); names(l) <- names(v); l }
fstr <- function(f) paste(deparse(f, width.cutoff = 500), collapse = "")

# Evaluate an R expression given as a string, so the recorded "call" is exactly what ran.
E <- function(code) eval(parse(text = code), envir = .GlobalEnv)
# Same, but record a failure (with R's error message) and return NULL instead of stopping.
TRY <- function(id, code) {
  tryCatch(E(code), error = function(e) {
    msg <- conditionMessage(e)
    message("FAILED ", id, ": ", msg)
    failed[[length(failed) + 1]] <<- list(id = id, call = code, error = msg)
    NULL
  })
}

coefs <- function(m, vc = vcov(m)) {
  b <- coef(m); se <- sqrt(diag(as.matrix(vc)))[names(b)]
  list(params = named(b), std_errors = named(se))
}
summ <- function(t) { t <- as.numeric(t); list(min = min(t), mean = mean(t), max = max(t), first = t[1]) }
by_index <- function(t, idx) {
  # per-observation vector -> one value per index level (checked constant within level)
  t <- as.numeric(t); idx <- as.character(idx)
  lev <- unique(idx); num <- suppressWarnings(as.numeric(lev))
  if (!anyNA(num)) lev <- lev[order(num)]
  v <- tapply(t, factor(idx, levels = lev), function(z) {
    stopifnot(max(abs(z - z[1])) < 1e-12); z[1] })
  named(v)
}
ercomp_of <- function(m, by = TRUE) {
  s <- m$ercomp$sigma2; th <- m$ercomp$theta
  out <- list(sigma2 = named(s))
  ix <- index(m)
  if (is.list(th)) {
    out$theta <- lapply(th, summ)
    if (by && length(th$id) == nrow(ix)) out$theta_by_entity <- by_index(th$id, ix[[1]])
    if (by && length(th$time) == nrow(ix)) out$theta_by_time <- by_index(th$time, ix[[2]])
    if (by && length(th$total) == nrow(ix)) out$theta_total_by_obs <- setNames(as.list(as.numeric(th$total)), paste(ix[[1]], ix[[2]], sep = "-"))
  } else {
    out$theta <- summ(th)
    eff <- attr(m$ercomp, "effect")
    if (by && length(th) == nrow(ix)) {
      if (identical(eff, "time")) out$theta_by_time <- by_index(th, ix[[2]])
      else out$theta_by_entity <- by_index(th, ix[[1]])
    }
  }
  out
}
rsq <- function(m) {
  s <- tryCatch(summary(m), error = function(e) NULL)
  if (is.null(s) || is.null(s$r.squared)) return(list())
  list(rsquared = as.numeric(s$r.squared[["rsq"]]), adj_rsquared = as.numeric(s$r.squared[["adjrsq"]]))
}
testres <- function(t) list(stat = as.numeric(t$statistic), df = as.numeric(t$parameter), pvalue = as.numeric(t$p.value),
                            method = t$method)
dropped <- function(m, f) {
  # regressors in the formula's model matrix that plm did not estimate
  all <- colnames(model.matrix(m, model = "pooling"))
  list(kept = I(names(coef(m))), dropped = I(setdiff(setdiff(all, "(Intercept)"), names(coef(m)))))
}

# =========================================================================================
# A. Grunfeld: unbalanced subset, plus a few extras on the balanced panel
# =========================================================================================
grunfeld <- read.csv(file.path(root, "datasets", "grunfeld.csv"))
data("Grunfeld", package = "plm")
stopifnot(isTRUE(all.equal(grunfeld, Grunfeld, check.attributes = FALSE)))
unbal_rule <- "!((firm * 7 + year) %% 5 == 0) & !(firm == 3 & year > 1950) & !(firm == 8 & year < 1940)"
grunfeld_unbal <- E(paste0("subset(grunfeld, ", unbal_rule, ")"))
rownames(grunfeld_unbal) <- NULL
write.csv(grunfeld_unbal, "grunfeld_unbalanced.csv", row.names = FALSE)
f_g <- inv ~ value + capital

grunfeld_cases <- function(name, dname, balanced) {
  assign("pd", pdata.frame(get(dname), index = c("firm", "year")), envir = .GlobalEnv)
  base <- list(dataset = name, formula = fstr(f_g), entity = "firm", time = "year", balanced = balanced,
               data_setup = paste0("pd <- pdata.frame(", dname, ", index = c(\"firm\", \"year\"))"), source = "R plm")
  if (!balanced) base$data_rows_rule <- paste0("grunfeld_unbalanced <- subset(grunfeld, ", unbal_rule, ")")
  mods <- list(
    pooled        = list("pooled", NULL, "plm(inv ~ value + capital, data = pd, model = \"pooling\")"),
    within_entity = list("fixed_effects", "entity", "plm(inv ~ value + capital, data = pd, model = \"within\")"),
    within_time   = list("fixed_effects", "time", "plm(inv ~ value + capital, data = pd, model = \"within\", effect = \"time\")"),
    within_twoway = list("fixed_effects", "twoway", "plm(inv ~ value + capital, data = pd, model = \"within\", effect = \"twoways\")"),
    between       = list("between", NULL, "plm(inv ~ value + capital, data = pd, model = \"between\")"),
    fd            = list("first_difference", NULL, "plm(inv ~ value + capital, data = pd, model = \"fd\")"))
  fits <- list()
  for (k in names(mods)) {
    mm <- mods[[k]]; m <- E(mm[[3]]); fits[[k]] <- m
    assign(paste0("m_", k), m, envir = .GlobalEnv)
    if (!balanced) add(c(list(id = paste0(name, "_", k), kind = "panel", model = mm[[1]], effects = mm[[2]], call = mm[[3]]),
                         base, coefs(m), rsq(m)))
  }
  pool <- fits$pooled; fe <- fits$within_entity
  assign("pool", pool, envir = .GlobalEnv); assign("fe", fe, envir = .GlobalEnv)
  assign("fe2", fits$within_twoway, envir = .GlobalEnv)
  re_call <- function(meth, eff = NULL) paste0("plm(inv ~ value + capital, data = pd, model = \"random\"",
                                               if (!is.null(eff)) paste0(", effect = \"", eff, "\"") else "",
                                               ", random.method = \"", meth, "\")")
  re_swar <- E(re_call("swar")); assign("re_swar", re_swar, envir = .GlobalEnv)
  vc_case <- function(id, model, mname, mcall, vcall, extra) {
    vc <- TRY(paste0(name, "_", id), vcall)
    if (!is.null(vc)) add(c(list(id = paste0(name, "_", id), kind = "panel", model = model, call = vcall,
                                 model_call = paste0(mname, " <- ", mcall)), extra, base, coefs(get(mname), vc)))
  }
  specs <- list(list("pooled", "pooled", "pool", mods$pooled[[3]]),
                list("within_entity", "fixed_effects", "fe", mods$within_entity[[3]]),
                list("re_swar", "random_effects", "re_swar", re_call("swar")))
  if (!balanced) {
    # one-way entity RE, four variance-component methods
    for (meth in c("swar", "walhus", "amemiya", "nerlove")) {
      cl <- re_call(meth); re <- TRY(paste0(name, "_re_", meth), cl)
      if (!is.null(re)) add(c(list(id = paste0(name, "_re_", meth), kind = "panel", model = "random_effects", effects = "entity",
                                   method = meth, call = cl), base, coefs(re), rsq(re), ercomp_of(re)))
    }
    # one-way time RE
    for (meth in c("swar", "amemiya")) {
      cl <- re_call(meth, "time"); re <- TRY(paste0(name, "_re_time_", meth), cl)
      if (!is.null(re)) add(c(list(id = paste0(name, "_re_time_", meth), kind = "panel", model = "random_effects", effects = "time",
                                   method = meth, call = cl), base, coefs(re), rsq(re), ercomp_of(re)))
    }
    # two-way RE (unbalanced); nerlove added as a bonus since plm supports it too
    for (meth in c("swar", "amemiya", "walhus", "nerlove")) {
      cl <- re_call(meth, "twoways"); re <- TRY(paste0(name, "_re_twoway_", meth), cl)
      if (!is.null(re)) add(c(list(id = paste0(name, "_re_twoway_", meth), kind = "panel", model = "random_effects", effects = "twoway",
                                   method = meth, call = cl), base, coefs(re), rsq(re), ercomp_of(re)))
    }
    # cluster-by-entity (Arellano) HC0 and sss for pooled, within, RE swar
    for (s in specs) for (ty in c("HC0", "sss"))
      vc_case(paste0(s[[1]], "_cluster_entity_", ty), s[[2]], s[[3]], s[[4]],
              paste0("vcovHC(", s[[3]], ", method = \"arellano\", type = \"", ty, "\", cluster = \"group\")"),
              list(effects = if (s[[1]] == "pooled") NULL else "entity", method = if (s[[1]] == "re_swar") "swar" else NULL,
                   cov = "cluster", cluster = "entity", small_sample = ty))
    vc_case("within_entity_cluster_time_HC0", "fixed_effects", "fe", mods$within_entity[[3]],
            "vcovHC(fe, method = \"arellano\", type = \"HC0\", cluster = \"time\")",
            list(effects = "entity", cov = "cluster", cluster = "time", small_sample = "HC0"))
    vc_case("within_entity_driscoll_kraay", "fixed_effects", "fe", mods$within_entity[[3]], "vcovSCC(fe)",
            list(effects = "entity", cov = "driscoll-kraay", kernel = "bartlett",
                 bandwidth_note = "plm defaults: type HC0, maxlag = floor(T^(1/4)) with T the number of distinct time periods, weights 1 - j/(maxlag+1)"))
    vc_case("within_entity_cluster_twoway", "fixed_effects", "fe", mods$within_entity[[3]], "vcovDC(fe, type = \"HC0\")",
            list(effects = "entity", cov = "cluster", cluster = c("entity", "time"), small_sample = "HC0"))
    for (s in specs[1:2])
      vc_case(paste0(s[[1]], "_white1_HC0"), s[[2]], s[[3]], s[[4]],
              paste0("vcovHC(", s[[3]], ", method = \"white1\", type = \"HC0\")"),
              list(effects = if (s[[1]] == "pooled") NULL else "entity", cov = "robust", small_sample = "HC0",
                   note = "heteroskedasticity-robust White (not clustered), on the transformed data"))
    # tests
    tcase <- function(id, cl, extra) {
      t <- TRY(paste0(name, "_", id), cl)
      if (!is.null(t)) add(c(list(id = paste0(name, "_", id), kind = "test", call = cl), extra, base, testres(t)))
    }
    tcase("hausman", "phtest(fe, re_swar)",
          list(test = "hausman", variant = "classic", models = c("within_entity", "re_swar"),
               model_call = c(paste0("fe <- ", mods$within_entity[[3]]), paste0("re_swar <- ", re_call("swar")))))
    tcase("hausman_aux", "phtest(inv ~ value + capital, data = pd, method = \"aux\")",
          list(test = "hausman", variant = "regression", note = "Mundlak auxiliary regression, default vcov"))
    tcase("hausman_aux_robust",
          "phtest(inv ~ value + capital, data = pd, method = \"aux\", vcov = function(x) vcovHC(x, method = \"arellano\", type = \"HC0\", cluster = \"group\"))",
          list(test = "hausman", variant = "regression-robust", note = "Mundlak auxiliary regression, vcovHC arellano HC0 clustered by entity"))
    for (eff in c("individual", "time", "twoways")) for (ty in c("bp", "honda", "kw"))
      tcase(paste0("lm_", ty, "_", eff), paste0("plmtest(pool, effect = \"", eff, "\", type = \"", ty, "\")"),
            list(test = "breusch_pagan", variant = ty, effects = c(individual = "entity", time = "time", twoways = "twoway")[[eff]],
                 model_call = paste0("pool <- ", mods$pooled[[3]]),
                 note = "unbalanced panel: plm uses the Baltagi-Li (1990) form"))
    tcase("ftest_entity", "pFtest(fe, pool)", list(test = "f_effects", effects = "entity",
          model_call = c(paste0("fe <- ", mods$within_entity[[3]]), paste0("pool <- ", mods$pooled[[3]]))))
    tcase("ftest_twoway", "pFtest(fe2, pool)", list(test = "f_effects", effects = "twoway",
          model_call = c(paste0("fe2 <- ", mods$within_twoway[[3]]), paste0("pool <- ", mods$pooled[[3]]))))
  } else {
    # balanced extras: cluster by time (HC0) and white1 (HC0) for pooled, within, RE swar
    for (s in specs) {
      ex <- list(effects = if (s[[1]] == "pooled") NULL else "entity", method = if (s[[1]] == "re_swar") "swar" else NULL)
      vc_case(paste0(s[[1]], "_cluster_time_HC0"), s[[2]], s[[3]], s[[4]],
              paste0("vcovHC(", s[[3]], ", method = \"arellano\", type = \"HC0\", cluster = \"time\")"),
              c(ex, list(cov = "cluster", cluster = "time", small_sample = "HC0")))
      vc_case(paste0(s[[1]], "_white1_HC0"), s[[2]], s[[3]], s[[4]],
              paste0("vcovHC(", s[[3]], ", method = \"white1\", type = \"HC0\")"),
              c(ex, list(cov = "robust", small_sample = "HC0",
                         note = "heteroskedasticity-robust White (not clustered), on the transformed data")))
    }
  }
  # BLUPs of the entity effects of the RE swar model, and the FE intercepts
  add(c(list(id = paste0(name, "_ranef_re_swar"), kind = "effects", model = "random_effects", effects = "entity", method = "swar",
             call = "ranef(re_swar)", model_call = paste0("re_swar <- ", re_call("swar")),
             note = "plm's ranef: (1 - (1 - theta_i)^2) * mean_i(y - X b) = sigma2_id / (sigma2_id + sigma2_idios / T_i) times the entity mean of the untransformed RE residuals y - X b_RE, keyed by firm"),
        base, list(effects_by_entity = named(ranef(re_swar)))))
  add(c(list(id = paste0(name, "_fixef_within_entity"), kind = "effects", model = "fixed_effects", effects = "entity",
             call = "fixef(fe)", model_call = paste0("fe <- ", mods$within_entity[[3]]),
             note = "fixef type = \"level\" (default): entity intercepts, keyed by firm"),
        base, list(effects_by_entity = named(fixef(fe)))))
}
grunfeld_cases("grunfeld_unbal", "grunfeld_unbal", FALSE)
grunfeld_cases("grunfeld", "grunfeld", TRUE)

# =========================================================================================
# B. wagepan (Vella & Verbeek; Wooldridge)
# =========================================================================================
wagepan <- read.csv(file.path(root, "datasets", "wagepan.csv"))
pw <- pdata.frame(wagepan, index = c("nr", "year"))
wbase <- list(dataset = "wagepan", entity = "nr", time = "year", balanced = TRUE,
              data_setup = "pw <- pdata.frame(wagepan, index = c(\"nr\", \"year\"))", source = "R plm")
fw <- "lwage ~ educ + black + hisp + exper + expersq + married + union"
wcall <- function(extra) paste0("plm(", fw, ", data = pw", extra, ")")
wm <- list(pooled = list("pooled", NULL, NULL, wcall(", model = \"pooling\"")),
           within_entity = list("fixed_effects", "entity", NULL, wcall(", model = \"within\"")),
           re_swar = list("random_effects", "entity", "swar", wcall(", model = \"random\", random.method = \"swar\"")),
           re_amemiya = list("random_effects", "entity", "amemiya", wcall(", model = \"random\", random.method = \"amemiya\"")))
for (k in names(wm)) {
  mm <- wm[[k]]; m <- TRY(paste0("wagepan_", k), mm[[4]])
  if (is.null(m)) next
  assign(paste0("w_", k), m)
  ex <- list(id = paste0("wagepan_", k), kind = "panel", model = mm[[1]], effects = mm[[2]], method = mm[[3]], call = mm[[4]])
  add(c(ex, list(formula = fw), wbase, coefs(m), rsq(m),
        if (mm[[1]] == "random_effects") ercomp_of(m, by = FALSE) else list(),
        if (mm[[1]] == "fixed_effects") list(regressors = dropped(m)) else list()))
}
w_tcase <- function(id, cl, extra) {
  t <- TRY(paste0("wagepan_", id), cl)
  if (!is.null(t)) add(c(list(id = paste0("wagepan_", id), kind = "test", call = cl, formula = fw), extra, wbase, testres(t)))
}
for (ty in c("HC0", "sss")) {
  cl <- paste0("vcovHC(w_within_entity, method = \"arellano\", type = \"", ty, "\", cluster = \"group\")")
  vc <- TRY(paste0("wagepan_within_entity_cluster_entity_", ty), cl)
  if (!is.null(vc)) add(c(list(id = paste0("wagepan_within_entity_cluster_entity_", ty), kind = "panel", model = "fixed_effects",
                               effects = "entity", cov = "cluster", cluster = "entity", small_sample = ty, call = cl,
                               model_call = paste0("w_within_entity <- ", wm$within_entity[[4]]), formula = fw),
                          wbase, coefs(w_within_entity, vc)))
}
w_tcase("hausman", "phtest(w_within_entity, w_re_swar)",
        list(test = "hausman", variant = "classic", models = c("within_entity", "re_swar"),
             model_call = c(paste0("w_within_entity <- ", wm$within_entity[[4]]), paste0("w_re_swar <- ", wm$re_swar[[4]]))))
w_tcase("hausman_aux", paste0("phtest(", fw, ", data = pw, method = \"aux\")"),
        list(test = "hausman", variant = "regression", note = "Mundlak auxiliary regression, default vcov"))
w_tcase("hausman_aux_robust",
        paste0("phtest(", fw, ", data = pw, method = \"aux\", vcov = function(x) vcovHC(x, method = \"arellano\", type = \"HC0\", cluster = \"group\"))"),
        list(test = "hausman", variant = "regression-robust", note = "Mundlak auxiliary regression, vcovHC arellano HC0 clustered by entity"))
w_tcase("lm_bp_individual", "plmtest(w_pooled, effect = \"individual\", type = \"bp\")",
        list(test = "breusch_pagan", variant = "bp", effects = "entity", model_call = paste0("w_pooled <- ", wm$pooled[[4]])))
w_tcase("ftest_entity", "pFtest(w_within_entity, w_pooled)",
        list(test = "f_effects", effects = "entity",
             model_call = c(paste0("w_within_entity <- ", wm$within_entity[[4]]), paste0("w_pooled <- ", wm$pooled[[4]]))))
# within (entity) with year dummies; the second formula has exper, which is collinear with the
# year dummies after the within transformation (exper rises by one a year for everyone)
yd <- "d81 + d82 + d83 + d84 + d85 + d86 + d87"
for (v in list(list("within_entity_yeardummies", paste0("lwage ~ expersq + married + union + ", yd)),
               list("within_entity_yeardummies_exper", paste0("lwage ~ exper + expersq + married + union + ", yd)))) {
  cl <- paste0("plm(", v[[2]], ", data = pw, model = \"within\", effect = \"individual\")")
  m <- TRY(paste0("wagepan_", v[[1]]), cl)
  if (!is.null(m)) add(c(list(id = paste0("wagepan_", v[[1]]), kind = "panel", model = "fixed_effects", effects = "entity",
                              call = cl, formula = v[[2]]), wbase, coefs(m), rsq(m),
                         list(regressors = dropped(m), aliased = named(m$aliased))))
}

# =========================================================================================
# C. Hausman-Taylor etc. on Cornwell-Rupert (plm::Wages)
# =========================================================================================
data("Wages", package = "plm")
Wages$id <- rep(1:595, each = 7)
Wages$time <- rep(1:7, 595)
wages_cols <- c("id", "time", "exp", "wks", "bluecol", "ind", "south", "smsa", "married", "sex", "union", "ed", "black", "lwage")
wages_csv <- file.path(root, "datasets", "wages.csv")
write.csv(Wages[, wages_cols], wages_csv, row.names = FALSE)
system2("gzip", c("-9", "-n", "-c", shQuote(wages_csv)),
        stdout = file.path(root, "panelre", "datasets", "data", "wages.csv.gz"))
factor_levels <- lapply(Filter(is.factor, Wages), levels)
hbase <- list(dataset = "wages", entity = "id", time = "time", balanced = TRUE, source = "R plm",
              data_setup = c("data(\"Wages\", package = \"plm\")", "Wages$id <- rep(1:595, each = 7)", "Wages$time <- rep(1:7, 595)"),
              index_note = "index = 595 makes plm build id = rep(1:595, each = 7), time = rep(1:7, 595), identical to the id/time columns (plm warns that it overwrites them)",
              factor_levels = factor_levels,
              factor_note = "plm/R treatment contrasts: first level is the base, dummy named <var><level>, e.g. sexfemale (base male), southyes (base no)")
fx <- "lwage ~ wks + south + smsa + married + exp + I(exp^2) + bluecol + ind + union + sex + black + ed"
fht <- paste0(fx, " | bluecol + south + smsa + ind + sex + black | wks + married + union + exp + I(exp^2)")
wg <- list(within = list("fixed_effects", NULL, paste0("plm(", fx, ", data = Wages, index = 595, model = \"within\")"), fx),
           re_swar = list("random_effects", "swar", paste0("plm(", fx, ", data = Wages, index = 595, model = \"random\", random.method = \"swar\")"), fx),
           ht_baltagi = list("hausman_taylor", "ht", paste0("plm(", fht, ", data = Wages, index = 595, model = \"random\", random.method = \"ht\", inst.method = \"baltagi\")"), fht),
           ht_am = list("amemiya_macurdy", "ht", paste0("plm(", fht, ", data = Wages, index = 595, model = \"random\", random.method = \"ht\", inst.method = \"am\")"), fht),
           ht_bms = list("breusch_mizon_schmidt", "ht", paste0("plm(", fht, ", data = Wages, index = 595, model = \"random\", random.method = \"ht\", inst.method = \"bms\")"), fht))
for (k in names(wg)) {
  mm <- wg[[k]]; m <- suppressWarnings(TRY(paste0("wages_", k), mm[[3]]))
  if (is.null(m)) next
  assign(paste0("g_", k), m)
  ex <- list(id = paste0("wages_", k), kind = "panel", model = mm[[1]], effects = "entity", method = mm[[2]], call = mm[[3]], formula = mm[[4]])
  if (grepl("^ht", k)) ex$rsquared_note <- "plm's summary() r.squared for HT fits, kept for completeness; not a meaningful fit measure to target"
  if (grepl("^ht", k)) ex$instruments <- list(
    time_varying_exogenous = c("bluecol", "south", "smsa", "ind"), time_invariant_exogenous = c("sex", "black"),
    time_varying_endogenous = c("wks", "married", "union", "exp", "I(exp^2)"), time_invariant_endogenous = I("ed"),
    inst.method = sub(".*inst.method = \"([a-z]+)\".*", "\\1", mm[[3]]))
  add(c(ex, hbase, coefs(m), rsq(m), if (!is.null(m$ercomp)) ercomp_of(m, by = FALSE) else list(),
        if (k == "within") list(regressors = dropped(m)) else list()))
}
# the same two HT fits with index = c("id", "time") must agree exactly
same_index <- all.equal(coef(g_ht_baltagi), coef(suppressWarnings(E(sub("index = 595", "index = c(\"id\", \"time\")", wg$ht_baltagi[[3]])))))
# deprecated pht() (two-part formula: second part = all exogenous variables), for comparison
fpht <- paste0(fx, " | sex + black + bluecol + south + smsa + ind")
for (mdl in c("ht", "am")) {
  cl <- paste0("pht(", fpht, ", data = Wages, model = \"", mdl, "\", index = 595)")
  w <- NULL
  m <- withCallingHandlers(TRY(paste0("wages_pht_", mdl), cl), warning = function(x) { w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning") })
  if (!is.null(m)) {
    ref <- get(if (mdl == "ht") "g_ht_baltagi" else "g_ht_am")
    add(c(list(id = paste0("wages_pht_", mdl), kind = "panel", model = if (mdl == "ht") "hausman_taylor" else "amemiya_macurdy",
               effects = "entity", call = cl, formula = fpht, r_warnings = unique(w),
               equals_plm_three_part = isTRUE(all.equal(coef(m), coef(ref))) && isTRUE(all.equal(vcov(m), vcov(ref)))),
          hbase, coefs(m)))
  }
}
cl <- "phtest(g_ht_baltagi, g_within)"
t <- suppressWarnings(TRY("wages_hausman_ht_vs_within", cl))
if (!is.null(t)) add(c(list(id = "wages_hausman_ht_vs_within", kind = "test", test = "hausman", variant = "classic",
                            models = c("ht_baltagi", "within"), call = cl,
                            model_call = c(paste0("g_ht_baltagi <- ", wg$ht_baltagi[[3]]), paste0("g_within <- ", wg$within[[3]])),
                            note = "contrast over the coefficients common to both (the time-varying ones)"),
                       hbase, testres(t)))
cl <- "phtest(g_within, g_re_swar)"
t <- suppressWarnings(TRY("wages_hausman_classic", cl))
if (!is.null(t)) add(c(list(id = "wages_hausman_classic", kind = "test", test = "hausman", variant = "classic",
                            models = c("within", "re_swar"), call = cl,
                            model_call = c(paste0("g_within <- ", wg$within[[3]]), paste0("g_re_swar <- ", wg$re_swar[[3]]))),
                       hbase, testres(t)))

# =========================================================================================
versions <- sapply(c("plm", "jsonlite"), function(p) as.character(packageVersion(p)))
out <- list(generated_by = c(R = R.version.string, as.list(versions)),
            script = "tests/reference/panel/make_panel_reference.R",
            checks = list(grunfeld_csv_equals_plm_Grunfeld = TRUE,
                          wages_index_595_equals_id_time_columns = isTRUE(same_index)),
            data = list(grunfeld_unbal = list(file = "tests/reference/panel/grunfeld_unbalanced.csv", rows = nrow(grunfeld_unbal),
                                              T_by_firm = as.list(table(grunfeld_unbal$firm))),
                        grunfeld = list(file = "datasets/grunfeld.csv", rows = nrow(grunfeld)),
                        wagepan = list(file = "datasets/wagepan.csv", rows = nrow(wagepan)),
                        wages = list(file = "datasets/wages.csv", rows = nrow(Wages), columns = wages_cols)),
            failed = failed,
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(15), pretty = TRUE, null = "null", na = "null"), "plm_extra.json")
cat(length(cases), "cases written,", length(failed), "failed\n")
