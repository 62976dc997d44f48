// Search-as-you-type for code fields: suggestions in a <datalist>.
// The server checks every code on submit, so this only saves typing.
(function () {
  "use strict";
  var list = document.getElementById("code-suggestions");
  if (!list) { return; }
  var timer = null;
  var latest = 0;  // only the newest search's answer is shown: answers can arrive out of order
  document.querySelectorAll("input[data-code-search]").forEach(function (input) {
    input.setAttribute("list", "code-suggestions");
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { return; }
      timer = setTimeout(function () {
        var url = list.dataset.url + "?system=" + encodeURIComponent(input.dataset.codeSearch) +
                  "&date=" + encodeURIComponent(list.dataset.date) + "&q=" + encodeURIComponent(q);
        var mine = ++latest;
        fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (hits) {
            if (mine !== latest) { return; }
            list.innerHTML = "";
            hits.forEach(function (h) {
              var option = document.createElement("option");
              option.value = h.code;
              option.label = h.code + " " + h.display + (h.billable ? "" : " (header)");
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 250);
    });
  });
})();
