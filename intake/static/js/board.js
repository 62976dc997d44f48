// The board reloads itself every few seconds unless paused (WCAG 2.2.1:
// a timed refresh must be stoppable). Without JavaScript, a <noscript>
// meta refresh does the same, unpausable.
(function () {
  "use strict";
  var box = document.getElementById("board-refresh");
  if (!box) { return; }
  var pause = document.getElementById("board-pause");
  box.hidden = false;
  setInterval(function () {
    if (!pause.checked && !document.hidden) {
      // ?auto=1: a timed refresh is not activity, so the idle sign-out still comes.
      var url = new URL(window.location.href);
      url.searchParams.set("auto", "1");
      window.location.replace(url.toString());
    }
  }, Number(box.dataset.seconds) * 1000);
})();
