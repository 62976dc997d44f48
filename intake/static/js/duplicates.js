// Live duplicate warning: post what is typed so far and show likely matches.
// The server checks again on save, so this is a convenience, not the guard.
(function () {
  "use strict";
  var form = document.getElementById("patient-form");
  if (!form || !form.dataset.duplicateUrl) { return; }
  var target = document.getElementById("duplicate-live");
  var watched = ["family_name", "given_name", "birth_date", "phone_mobile", "phone_home",
                 "address_line1", "postal_code", "email"];
  var timer = null;
  var last = "";
  var latest = 0;  // only the newest request's answer is shown: answers can arrive out of order

  function ready() {
    var f = form.elements;
    return (f.family_name.value && f.given_name.value) || f.birth_date.value ||
           f.phone_mobile.value || f.phone_home.value;
  }

  function check() {
    if (!ready()) { latest += 1; last = ""; target.innerHTML = ""; return; }
    var body = new FormData(form);
    var key = watched.map(function (n) { return body.get(n) || ""; }).join("|");
    if (key === last) { return; }
    last = key;
    var mine = ++latest;
    fetch(form.dataset.duplicateUrl, {method: "POST", body: body, credentials: "same-origin",
                                      headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { if (mine === latest) { target.innerHTML = html; } })
      .catch(function () { /* the save-time check still runs */ });
  }

  watched.forEach(function (name) {
    var el = form.elements[name];
    if (!el) { return; }
    el.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 350); });
    el.addEventListener("change", check);
  });
})();
