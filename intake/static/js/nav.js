/* The staff menu on a phone: folded behind a Menu button (Bootstrap's CSS,
   without its script). Without this file the menu simply stays open. */
(function () {
  "use strict";
  var menu = document.getElementById("main-menu");
  var toggle = document.querySelector('.navbar-toggler[aria-controls="main-menu"]');
  if (!menu || !toggle) { return; }
  menu.classList.add("collapse");
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    var open = menu.classList.toggle("show");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
