"use strict";
(function () {
  var root = document.documentElement;
  var themeButton = document.getElementById("theme");
  function dark() {
    var chosen = root.getAttribute("data-theme");
    if (chosen) return chosen === "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }
  function showTheme() {
    themeButton.textContent = dark() ? "Light theme" : "Dark theme";
  }
  themeButton.addEventListener("click", function () {
    root.setAttribute("data-theme", dark() ? "light" : "dark");
    showTheme();
  });
  showTheme();

  // Copy buttons: the clipboard API where the page may use it, else a selected text area.
  function copied(button) {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  }
  function fallbackCopy(text, button) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); copied(button); } catch (e) { button.textContent = "Select and copy"; }
    document.body.removeChild(area);
  }
  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () { copied(button); },
          function () { fallbackCopy(text, button); });
      } else {
        fallbackCopy(text, button);
      }
    });
  });

  // Every test: filtered in memory, and only the first rows of the matches drawn, so a
  // filter or a key stroke stays quick on tens of thousands of tests.
  var PAGE = 500;
  var tests = JSON.parse(document.getElementById("tests-data").textContent);
  var body = document.querySelector("#all-tests tbody");
  var shown = document.getElementById("shown");
  var more = document.getElementById("more");
  var search = document.getElementById("search");
  var filters = document.querySelectorAll("button.filter");
  var outcome = "";
  var matches = [];
  var drawn = 0;
  function seconds(value) {
    return value >= 1 ? value.toFixed(2) + " s" : (value * 1000).toFixed(1) + " ms";
  }
  function draw(limit) {
    var fragment = document.createDocumentFragment();
    for (; drawn < Math.min(limit, matches.length); drawn++) {
      var test = matches[drawn];
      var row = document.createElement("tr");
      var name = document.createElement("th");
      name.scope = "row";
      name.className = "nodeid";
      name.textContent = test[0];
      var result = document.createElement("td");
      result.className = "o " + test[1];
      result.textContent = test[1];
      var time = document.createElement("td");
      time.textContent = seconds(test[2]);
      row.appendChild(name);
      row.appendChild(result);
      row.appendChild(time);
      fragment.appendChild(row);
    }
    body.appendChild(fragment);
    shown.textContent = "showing " + drawn + " of " + matches.length + " matching tests (" + tests.length + " in all)";
    more.hidden = drawn >= matches.length;
    more.textContent = "Show " + Math.min(PAGE, matches.length - drawn) + " more";
  }
  function update() {
    var needle = search.value.trim().toLowerCase();
    matches = tests.filter(function (test) {
      return (!outcome || test[1] === outcome) && (!needle || test[0].toLowerCase().indexOf(needle) !== -1);
    });
    body.textContent = "";
    drawn = 0;
    draw(PAGE);
  }
  Array.prototype.forEach.call(filters, function (button) {
    button.addEventListener("click", function () {
      outcome = button.getAttribute("data-outcome");
      Array.prototype.forEach.call(filters, function (other) {
        other.setAttribute("aria-pressed", String(other === button));
      });
      update();
    });
  });
  var pending = null;
  search.addEventListener("input", function () {
    clearTimeout(pending);
    pending = setTimeout(update, 60);
  });
  search.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { search.value = ""; update(); }
    if (event.key === "Enter") { clearTimeout(pending); update(); }
  });
  more.addEventListener("click", function () { draw(drawn + PAGE); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && document.activeElement !== search) {
      event.preventDefault();
      search.focus();
    }
  });
  update();
})();
