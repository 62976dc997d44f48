// Subscriber fields matter only when the patient is not the subscriber.
// Without JavaScript they stay visible, and the server checks them anyway.
(function () {
  "use strict";
  var select = document.getElementById("relationship_code");
  var block = document.getElementById("subscriber-fields");
  if (!select || !block) { return; }
  function sync() { block.hidden = select.value === "self"; }
  select.addEventListener("change", sync);
  sync();
})();
