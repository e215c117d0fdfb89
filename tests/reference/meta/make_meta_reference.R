# Extra metafor reference results for panelre.meta (beyond ../reference_r.json).
# Run from the repository root:  Rscript tests/reference/meta/make_meta_reference.R
# Needs R with metafor (>= 3.8, which brings metadat) and jsonlite.
# Every case stores the exact R call that produced its numbers in the field "call".
suppressMessages({
  library(metafor); library(jsonlite)
})
options(warn = 1)
here <- file.path("tests", "reference", "meta")
cases <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x
named <- function(v, nm = names(v)) { l <- as.list(as.numeric(v)); names(l) <- nm; l }

# ---------- data (written as CSV so Python reads exactly the same rows) ----------
data("dat.bcg", package = "metadat")
data("dat.normand1999", package = "metadat")
write.csv(dat.normand1999, file.path(here, "normand1999.csv"), row.names = FALSE)

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_sub <- bcg[c(5, 9, 11, 13), ]   # a homogeneous subset: tau^2 estimates truncated at 0
smd <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
md <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
             n2i = n2i, data = dat.normand1999)
datasets <- list(bcg = bcg, bcg_sub = bcg_sub, normand1999_smd = smd, normand1999_md = md)
rows <- list(bcg = 1:13, bcg_sub = c(5, 9, 11, 13), normand1999_smd = 1:9, normand1999_md = 1:9)
data_txt <- c(bcg = "dat", bcg_sub = "dat[c(5,9,11,13),]", normand1999_smd = "dat",
              normand1999_md = "dat")

# ---------- effect sizes ----------
es <- function(id, dataset, measure, res, call, inputs = NULL) {
  add(c(list(id = id, kind = "effect_size", dataset = dataset, measure = measure,
             source = "R metafor", call = call, yi = as.numeric(res$yi), vi = as.numeric(res$vi)),
        if (is.null(inputs)) list() else list(inputs = inputs)))
}
es("normand1999_escalc_smd", "normand1999", "SMD", smd,
   "escalc(measure='SMD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)")
es("normand1999_escalc_md", "normand1999", "MD", md,
   "escalc(measure='MD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)")
# zero cells: 1/2 is added to every cell of a table with a zero cell (to='only0', add=1/2),
# double-zero tables kept (drop00=FALSE) -- metafor's defaults, for RR, OR and RD alike
zero <- data.frame(ai = c(0, 3, 0, 12, 5), bi = c(10, 7, 20, 30, 0), ci = c(2, 1, 0, 0, 4),
                   di = c(8, 9, 25, 40, 6))
for (ms in c("RR", "OR", "RD")) {
  es(paste0("zero_cells_escalc_", tolower(ms)), "zero_cells", ms,
     escalc(measure = ms, ai = ai, bi = bi, ci = ci, di = di, data = zero),
     sprintf("escalc(measure='%s', ai=ai, bi=bi, ci=ci, di=di, data=zero)", ms), inputs = as.list(zero))
}

# ---------- models ----------
meta <- function(id, dataset, method, test = "z", mods = NULL, mods_txt = NULL, l1o = FALSE,
                 threshold = 1e-13) {
  # threshold is metafor's absolute stopping rule on tau^2; with tau^2 in the hundreds
  # (normand1999 MD) 1e-13 is below double precision, so those cases use 1e-9 (relative ~5e-12)
  dat <- datasets[[dataset]]
  tight <- list(threshold = threshold, tol = 1e-13, maxiter = 10000)
  tight_txt <- sprintf("control=list(threshold=%g, tol=1e-13, maxiter=10000)", threshold)
  call <- sprintf("rma(yi, vi, %sdata=%s, method='%s', test='%s', %s)",
                  if (is.null(mods_txt)) "" else paste0("mods=", mods_txt, ", "),
                  data_txt[[dataset]], method, test, tight_txt)
  m <- if (is.null(mods)) rma(yi, vi, data = dat, method = method, test = test, control = tight)
       else rma(yi, vi, mods = mods, data = dat, method = method, test = test, control = tight)
  out <- list(id = id, kind = "meta", dataset = dataset, rows = rows[[dataset]], method = method,
              test = test, source = "R metafor", call = call,
              tau2 = m$tau2, tau2_se = if (is.na(m$se.tau2)) NULL else m$se.tau2,
              i2 = m$I2, h2 = m$H2, q = m$QE, q_pvalue = m$QEp, k = m$k,
              weights = as.numeric(weights(m)))
  if (is.null(mods)) {
    p <- predict(m)
    out <- c(out, list(estimate = as.numeric(coef(m)), se = as.numeric(m$se),
                       ci = c(m$ci.lb, m$ci.ub), pvalue = as.numeric(m$pval),
                       pi = c(p$pi.lb, p$pi.ub), pi_call = "predict(m)"))
  } else {
    nm <- names(coef(m)); nm[nm == "intrcpt"] <- "Intercept"
    out <- c(out, list(formula = mods_txt, estimate = named(coef(m), nm), se = named(m$se, nm),
                       ci_lower = named(m$ci.lb, nm), ci_upper = named(m$ci.ub, nm),
                       pvalue = named(m$pval, nm), qm = m$QM, qm_pvalue = m$QMp,
                       qm_df = as.numeric(m$QMdf[!is.na(m$QMdf)]),
                       r2 = if (is.null(m$R2)) NULL else m$R2))
  }
  if (method != "FE") {
    ci <- confint(m, control = list(tol = 1e-13))$random
    out$tau2_ci <- as.numeric(ci["tau^2", c("ci.lb", "ci.ub")])
    out$tau2_ci_call <- "confint(m, control=list(tol=1e-13))"
  }
  if (l1o) {
    l <- leave1out(m)
    out$leave_one_out <- list(call = "leave1out(m)", estimate = l$estimate, se = l$se,
                              pvalue = l$pval, ci_lower = l$ci.lb, ci_upper = l$ci.ub,
                              q = l$Q, q_pvalue = l$Qp, tau2 = if (is.null(l$tau2)) NULL else l$tau2,
                              i2 = l$I2, h2 = l$H2)
  }
  add(out)
}
for (meth in c("ML", "PM", "HE", "SJ", "EB", "HS"))
  meta(paste0("bcg_rr_", meth), "bcg", meth)
meta("bcg_rr_DL_knha", "bcg", "DL", test = "knha")
meta("bcg_rr_PM_knha", "bcg", "PM", test = "knha")
meta("bcg_rr_DL_l1o", "bcg", "DL", l1o = TRUE)
meta("bcg_rr_REML_l1o", "bcg", "REML", l1o = TRUE)
meta("bcg_rr_FE_l1o", "bcg", "FE", l1o = TRUE)
for (meth in c("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS"))
  meta(paste0("bcg_sub_rr_", meth), "bcg_sub", meth)
for (meth in c("REML", "DL", "ML", "FE"))
  meta(paste0("bcg_rr_ablat_", meth), "bcg", meth, mods = ~ ablat, mods_txt = "~ ablat")
meta("bcg_rr_ablat_REML_knha", "bcg", "REML", test = "knha", mods = ~ ablat, mods_txt = "~ ablat")
meta("bcg_rr_ablat_year_REML", "bcg", "REML", mods = ~ ablat + year, mods_txt = "~ ablat + year")
for (meth in c("REML", "DL", "PM"))
  meta(paste0("normand1999_smd_", meth), "normand1999_smd", meth)
meta("normand1999_md_DL", "normand1999_md", "DL")
meta("normand1999_md_REML_knha", "normand1999_md", "REML", test = "knha", threshold = 1e-9)

writeLines(toJSON(list(generated_by = list(R = R.version.string,
                                           metafor = as.character(packageVersion("metafor")),
                                           script = "tests/reference/meta/make_meta_reference.R"),
                       cases = cases),
                  auto_unbox = TRUE, digits = I(15), pretty = TRUE, null = "null", na = "null"),
           file.path(here, "metafor_extra.json"))
cat(length(cases), "cases written\n")
