/* Patient kiosk: idle warning and wipe, keep-alive, signature pads, and
   showing only the insurance fields that apply. Everything works without
   this file except drawing a signature (typing a name does the same). */
(function () {
  "use strict";
  var body = document.body;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  /* -- idle: warn, then wipe (the server enforces the same limit) -- */
  var warnAfter = parseInt(body.dataset.idleWarning || "0", 10);
  var wipeAfter = parseInt(body.dataset.idleTimeout || "0", 10);
  if (warnAfter > 0 && wipeAfter > 0) {
    var last = Date.now();
    var lastPing = Date.now();
    var dialog = document.getElementById("idle-warning");
    var seconds = document.getElementById("idle-seconds");
    var resume = document.getElementById("idle-continue");
    var resetForm = document.getElementById("idle-reset");
    var wiping = false;
    /* While the warning is up, what was typed is hidden (not just dimmed) and
       out of reach: the next person in the waiting room must not read it. */
    var behind = Array.prototype.filter.call(document.body.children, function (el) {
      return el !== dialog && el.tagName !== "SCRIPT" && el.tagName !== "FORM";
    });
    var conceal = function (hide) {
      behind.forEach(function (el) {
        if (hide) { el.setAttribute("inert", ""); el.classList.add("kiosk-concealed"); }
        else { el.removeAttribute("inert"); el.classList.remove("kiosk-concealed"); }
      });
    };
    var ping = function () {
      lastPing = Date.now();
      fetch(body.dataset.keepaliveUrl, {method: "POST", credentials: "same-origin",
        headers: {"X-CSRFToken": csrf}}).catch(function () {});
    };
    var active = function () {
      if (wiping || !dialog.hidden) { return; }
      last = Date.now();
      if (Date.now() - lastPing > Math.min(30000, (wipeAfter * 1000) / 3)) { ping(); }
    };
    ["pointerdown", "keydown", "input", "touchstart", "wheel"].forEach(function (name) {
      document.addEventListener(name, active, {passive: true, capture: true});
    });
    resume.addEventListener("click", function () {
      dialog.hidden = true;
      conceal(false);
      last = Date.now();
      ping();
    });
    window.setInterval(function () {
      var idle = (Date.now() - last) / 1000;
      if (idle >= wipeAfter && !wiping) {
        wiping = true;
        resetForm.submit();
      } else if (idle >= warnAfter) {
        seconds.textContent = String(Math.max(0, Math.ceil(wipeAfter - idle)));
        if (dialog.hidden) { conceal(true); dialog.hidden = false; resume.focus(); }
      }
    }, 250);
  }

  /* -- thank-you page: back to the language screen on its own -- */
  if (body.dataset.returnUrl) {
    window.setTimeout(function () { window.location.replace(body.dataset.returnUrl); },
      parseInt(body.dataset.returnAfter || "20", 10) * 1000);
  }

  /* -- signature pads: draw, then post the PNG in the hidden field -- */
  document.querySelectorAll(".needs-js").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll(".kiosk-pad-canvas").forEach(function (canvas) {
    var target = document.getElementById(canvas.dataset.target);
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var drawn = false;
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#111";
    var point = function (event) {
      var box = canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * canvas.width / box.width,
              (event.clientY - box.top) * canvas.height / box.height];
    };
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      ctx.lineTo(p[0] + 0.1, p[1] + 0.1);
      ctx.stroke();
      drawn = true;
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      var p = point(event);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
    });
    var finish = function () {
      if (!drawing) { return; }
      drawing = false;
      if (drawn) { target.value = canvas.toDataURL("image/png"); }
    };
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    canvas.parentElement.querySelector(".kiosk-pad-clear").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      drawn = false;
      target.value = "";
    });
  });

  /* -- insurance: hide what does not apply (the server ignores it anyway) -- */
  var details = document.getElementById("insurance-details");
  if (details) {
    var secondary = document.getElementById("secondary-plan");
    var secondaryBox = document.getElementById("has_secondary");
    var update = function () {
      var yes = document.querySelector('input[name="has_insurance"][value="yes"]');
      details.hidden = !(yes && yes.checked);
      secondary.hidden = !(secondaryBox && secondaryBox.checked);
      document.querySelectorAll("[data-subscriber]").forEach(function (block) {
        var slot = block.dataset.subscriber;
        var self = document.querySelector('input[name="' + slot + '_relationship_code"][value="self"]');
        block.hidden = !!(self && self.checked);
      });
    };
    document.getElementById("kiosk-form").addEventListener("change", update);
    update();
  }
})();
