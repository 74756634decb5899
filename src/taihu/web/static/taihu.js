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
})();
