// Dates and times as the server writes them (web/clock_format.py): in the district's time zone
// (<body data-zone>) and the page language's one format, whatever the browser's own settings.
//   zh-CN  2026-12-06 14:05     en  6 Dec 2026, 14:05
(function () {
  "use strict";
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function parts(value) {
    var format = new Intl.DateTimeFormat("en-GB", {
      timeZone: document.body.dataset.zone || "Asia/Shanghai", hourCycle: "h23",
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"
    });
    var out = {};
    format.formatToParts(new Date(value)).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }

  function english() { return document.documentElement.lang === "en"; }

  // A date and time (ms since the epoch, or an ISO string).
  window.taihuTime = function (value) {
    var p = parts(value);
    if (english()) {
      return Number(p.day) + " " + MONTHS[Number(p.month) - 1] + " " + p.year + ", " + p.hour + ":" + p.minute;
    }
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  };

  // The date alone, for chart axes of whole days.
  window.taihuDate = function (value) {
    var p = parts(value);
    if (english()) { return Number(p.day) + " " + MONTHS[Number(p.month) - 1] + " " + p.year; }
    return p.year + "-" + p.month + "-" + p.day;
  };

  // Date fields (templates/_date_input.html) are text in the page language's form. What is typed
  // in either language's form is rewritten in the page's; anything else is flagged, in the
  // page's words (data-invalid). The same rules as read_day in web/clock_format.py.
  var FULL = ["january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december"];

  function month(name) {
    name = name.toLowerCase();
    for (var i = 0; i < 12; i++) {
      if (name === FULL[i] || name === FULL[i].slice(0, 3) || (name === "sept" && i === 8)) { return i + 1; }
    }
    return 0;
  }

  function readDay(text) {
    var m, y, mo, d;
    text = text.trim();
    if ((m = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/.exec(text))) {
      y = +m[1]; mo = +m[2]; d = +m[3];
    } else if ((m = /^(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})$/.exec(text))) {
      y = +m[3]; mo = month(m[2]); d = +m[1];
    } else if ((m = /^([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})$/.exec(text))) {
      y = +m[3]; mo = month(m[1]); d = +m[2];
    } else {
      return null;
    }
    var day = new Date(Date.UTC(y, mo - 1, d));
    if (!mo || day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) { return null; }
    return day;
  }

  function written(day) {
    var y = day.getUTCFullYear(), mo = day.getUTCMonth() + 1, d = day.getUTCDate();
    if (english()) { return d + " " + MONTHS[mo - 1] + " " + y; }
    return y + "-" + (mo < 10 ? "0" : "") + mo + "-" + (d < 10 ? "0" : "") + d;
  }

  function tidy(input) {
    if (!input.value.trim()) { input.setCustomValidity(""); return; }
    var day = readDay(input.value);
    if (day) {
      input.value = written(day);
      input.setCustomValidity("");
    } else {
      input.setCustomValidity(input.dataset.invalid || "");
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[data-date]")) { tidy(event.target); }
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input[data-date]")) { event.target.setCustomValidity(""); }
  });
  window.taihuReadDay = readDay;
})();
