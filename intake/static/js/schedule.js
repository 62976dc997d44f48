// Booking: as the desk picks a type and provider, the next open times are
// fetched and listed; choosing one fills the date, time and provider.
(function () {
  "use strict";
  var form = document.getElementById("book-form");
  if (!form) { return; }
  var list = document.getElementById("open-slots");
  var type = document.getElementById("type_id");
  var provider = document.getElementById("provider_id");

  function fill(button) {
    document.getElementById("day").value = button.dataset.day;
    document.getElementById("start").value = button.dataset.time;
    provider.value = button.dataset.provider;
    document.getElementById("start").focus();
  }
  list.addEventListener("click", function (event) {
    var button = event.target.closest("button.slot");
    if (button) { fill(button); }
  });
  function refresh() {
    if (!Number(type.value)) { return; }
    var url = form.dataset.slotsUrl + "?type=" + encodeURIComponent(type.value) +
      "&provider=" + encodeURIComponent(provider.value || 0);
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); })
      .then(function (slots) {
        list.textContent = "";
        if (!slots.length) {
          var none = document.createElement("li");
          none.className = "list-inline-item text-muted";
          none.textContent = "No open time in the next 90 days.";
          list.appendChild(none);
        }
        slots.forEach(function (s) {
          var li = document.createElement("li");
          li.className = "list-inline-item mb-1";
          var b = document.createElement("button");
          b.type = "button";
          b.className = "btn btn-sm btn-outline-success slot";
          b.dataset.day = s.day; b.dataset.time = s.time; b.dataset.provider = s.provider_id;
          b.textContent = s.label + " · " + s.provider;
          li.appendChild(b);
          list.appendChild(li);
        });
      });
  }
  type.addEventListener("change", refresh);
  provider.addEventListener("change", refresh);
  // A type already chosen before this script ran (a quick hand, or the
  // browser restoring the form on Back) gets its open times too.
  refresh();
})();
