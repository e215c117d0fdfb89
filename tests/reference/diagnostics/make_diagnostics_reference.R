# R plm reference values for panelre's serial-correlation and cross-sectional-dependence tests.
# Run from this folder: Rscript make_diagnostics_reference.R
# (Debian: r-base-core r-cran-plm r-cran-jsonlite; made with R 4.2.2, plm 2.6.2, lmtest.)
# Writes diagnostics_plm.json (every number with the R call that made it) and the two plm data
# sets panelre does not bundle (produc.csv, empluk.csv).
suppressPackageStartupMessages({library(plm); library(jsonlite)})
data("Grunfeld", "Produc", "EmplUK", package = "plm")
write.csv(Produc[, c("state", "year", "gsp", "pcap", "pc", "emp", "unemp")], "produc.csv",
          row.names = FALSE)
write.csv(EmplUK[, c("firm", "year", "emp", "wage", "capital", "output")], "empluk.csv",
          row.names = FALSE)
wagepan <- read.csv("../../../datasets/wagepan.csv")
grunfeld_unbal <- read.csv("../panel/grunfeld_unbalanced.csv")

sets <- list(
  grunfeld = list(data = Grunfeld, index = c("firm", "year"), formula = inv ~ value + capital),
  grunfeld_unbal = list(data = grunfeld_unbal, index = c("firm", "year"),
                        formula = inv ~ value + capital),
  produc = list(data = Produc, index = c("state", "year"),
                formula = log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp),
  empluk = list(data = EmplUK, index = c("firm", "year"),
                formula = log(emp) ~ log(wage) + log(capital) + log(output)),
  wagepan = list(data = wagepan, index = c("nr", "year"),
                 formula = lwage ~ exper + expersq + union + married)
)

htest <- function(call, t) {
  list(call = call, statistic = unname(t$statistic),
       parameter = if (is.null(t$parameter)) NULL else unname(as.numeric(t$parameter)),
       p_value = unname(t$p.value))
}

cases <- list()
for (name in names(sets)) {
  s <- sets[[name]]
  pd <- pdata.frame(s$data, index = s$index)
  fe <- plm(s$formula, pd, model = "within")
  fd <- plm(s$formula, pd, model = "fd")
  re <- plm(s$formula, pd, model = "random")
  po <- plm(s$formula, pd, model = "pooling")
  f <- paste(deparse(s$formula), collapse = "")
  fit <- function(m) sprintf('plm(%s, pdata.frame(data, index = c("%s", "%s")), model = "%s")',
                             f, s$index[1], s$index[2], m)
  add <- function(id, call, value) cases[[paste(name, id, sep = "_")]] <<- c(
    list(dataset = name, formula = f, entity = s$index[1], time = s$index[2]),
    htest(call, value))
  add("wooldridge", paste0("pwartest(", fit("within"), ")"), pwartest(fe))
  add("wooldridge_fd", paste0("pwfdtest(", fit("fd"), ")"), pwfdtest(fd))
  add("wooldridge_fd_fe", paste0("pwfdtest(", fit("fd"), ', h0 = "fe")'), pwfdtest(fd, h0 = "fe"))
  add("bg_within_1", paste0("pbgtest(", fit("within"), ", order = 1)"), pbgtest(fe, order = 1))
  add("bg_within_2_F", paste0("pbgtest(", fit("within"), ', order = 2, type = "F")'),
      pbgtest(fe, order = 2, type = "F"))
  add("bg_random_1", paste0("pbgtest(", fit("random"), ", order = 1)"), pbgtest(re, order = 1))
  add("bg_pooling_1", paste0("pbgtest(", fit("pooling"), ", order = 1)"), pbgtest(po, order = 1))
  add("dw_within", paste0("pdwtest(", fit("within"), ")"), pdwtest(fe))
  add("dw_pooling", paste0("pdwtest(", fit("pooling"), ")"), pdwtest(po))
  for (test in c("cd", "lm", "sclm", "bcsclm")) {
    add(paste0("cd_within_", test), paste0("pcdtest(", fit("within"), ', test = "', test, '")'),
        suppressWarnings(pcdtest(fe, test = test)))
  }
  add("cd_pooling_cd", paste0("pcdtest(", fit("pooling"), ', test = "cd")'),
      suppressWarnings(pcdtest(po, test = "cd")))
  add("cd_pooling_lm", paste0("pcdtest(", fit("pooling"), ', test = "lm")'),
      suppressWarnings(pcdtest(po, test = "lm")))
}
# panel unit-root tests (plm purtest), with MacKinnon (1994) ADF p-values
ur <- list(
  list("grunfeld", "Grunfeld", "inv", c("firm", "year")),
  list("grunfeld", "Grunfeld", "value", c("firm", "year")),
  list("produc", "Produc", "gsp", c("state", "year")),
  list("empluk", "EmplUK", "emp", c("firm", "year")),
  list("wagepan", "wagepan", "lwage", c("nr", "year"))
)
specs <- list(
  list("ips", "intercept", 1), list("ips", "trend", 1), list("ips", "intercept", 0),
  list("levinlin", "intercept", 1), list("levinlin", "none", 0), list("levinlin", "trend", 1),
  list("madwu", "intercept", 1), list("madwu", "none", 1), list("invnormal", "intercept", 1),
  list("hadri", "intercept", 0), list("hadri", "trend", 0),
  list("ips", "intercept", "AIC"), list("ips", "intercept", "SIC"),
  list("ips", "intercept", "Hall"), list("madwu", "trend", "SIC"),
  list("ips", "intercept", 1, TRUE), list("madwu", "intercept", 1, TRUE),
  list("levinlin", "intercept", 1, TRUE)
)
for (u in ur) {
  d <- get(u[[2]]); pd <- pdata.frame(d, index = u[[4]]); x <- pd[[u[[3]]]]
  if (u[[3]] %in% c("gsp", "emp")) x <- log(x)
  balanced <- is.pbalanced(pd)
  for (sp in specs) {
    if (sp[[1]] %in% c("levinlin", "hadri") && !balanced) next
    lagarg <- if (is.character(sp[[3]])) sprintf('"%s", pmax = 4', sp[[3]]) else sp[[3]]
    dfcor <- length(sp) > 3 && isTRUE(sp[[4]])
    call <- sprintf('purtest(%spdata.frame(%s, index = c("%s", "%s"))$%s%s, test = "%s", exo = "%s", lags = %s, p.approx = "MacKinnon1994"%s)',
                    if (u[[3]] %in% c("gsp", "emp")) "log(" else "", u[[2]], u[[4]][1], u[[4]][2], u[[3]],
                    if (u[[3]] %in% c("gsp", "emp")) ")" else "", sp[[1]], sp[[2]], lagarg,
                    if (dfcor) ", dfcor = TRUE" else "")
    r <- tryCatch(suppressWarnings(eval(parse(text = call))), error = function(e) NULL)
    if (is.null(r)) next
    t <- r$statistic
    if (!is.finite(t$statistic)) next
    id <- paste(c(u[[1]], u[[3]], "ur", sp[[1]], sp[[2]], sp[[3]], if (dfcor) "dfcor"),
                collapse = "_")
    cases[[id]] <- list(dataset = u[[1]], column = u[[3]], log = u[[3]] %in% c("gsp", "emp"),
                        entity = u[[4]][1], time = u[[4]][2], test = sp[[1]], exo = sp[[2]],
                        lags = sp[[3]], pmax = 4, dfcor = dfcor, call = call, statistic = unname(t$statistic),
                        parameter = if (is.null(t$parameter)) NULL else unname(as.numeric(t$parameter)),
                        p_value = unname(t$p.value))
  }
}
# Pesaran's CIPS (plm cipstest, model "cmg"; p-values interpolated in Pesaran's Table II)
cips_sets <- list(
  list("grunfeld", "Grunfeld", "inv", c("firm", "year")),
  list("grunfeld", "Grunfeld", "value", c("firm", "year")),
  list("grunfeld", "Grunfeld", "capital", c("firm", "year")),
  list("produc", "Produc", "gsp", c("state", "year")),
  list("produc", "Produc", "pcap", c("state", "year")),
  list("produc", "Produc", "unemp", c("state", "year"))
)
for (u in cips_sets) {
  logged <- u[[3]] %in% c("gsp", "pcap")
  for (type in c("trend", "drift", "none")) for (lags in 1:2) {
    call <- sprintf('cipstest(%spdata.frame(%s, index = c("%s", "%s"))$%s%s, lags = %d, type = "%s")',
                    if (logged) "log(" else "", u[[2]], u[[4]][1], u[[4]][2], u[[3]],
                    if (logged) ")" else "", lags, type)
    r <- suppressWarnings(eval(parse(text = call)))
    id <- paste(u[[1]], u[[3]], "ur", "cips", type, lags, sep = "_")
    exo <- c(trend = "trend", drift = "intercept", none = "none")[[type]]
    cases[[id]] <- list(dataset = u[[1]], column = u[[3]], log = logged, entity = u[[4]][1],
                        time = u[[4]][2], test = "cips", exo = exo, lags = lags, pmax = 4,
                        dfcor = FALSE, call = call, statistic = unname(r$statistic),
                        parameter = NULL, p_value = unname(r$p.value))
  }
}
out <- list(generated_by = list(R = R.version.string, plm = as.character(packageVersion("plm")),
                                lmtest = as.character(packageVersion("lmtest"))),
            cases = cases)
write_json(out, "diagnostics_plm.json", auto_unbox = TRUE, digits = NA, pretty = TRUE,
           null = "null")
cat(length(cases), "cases\n")
