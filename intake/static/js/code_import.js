// Code-table import: show the upload's progress, then "checking the whole file",
// and show the server's answer (the preview, or the form with its errors).
(function () {
  "use strict";
  var form = document.getElementById("code-import");
  if (!form || !window.XMLHttpRequest) { return; }
  form.addEventListener("submit", function (event) {
    var file = form.querySelector("input[type=file]");
    if (!file || !file.files.length) { return; }  // the server says what is missing
    event.preventDefault();
    var box = document.getElementById("import-progress");
    var bar = document.getElementById("import-bar");
    var label = document.getElementById("import-label");
    box.hidden = false;
    form.querySelector("button[type=submit]").disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round(100 * e.loaded / e.total);
        label.textContent = "Uploading… " + bar.value + "%";
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");  // indeterminate while the server reads the whole file
      label.textContent = "Checking every line of the file…";
    });
    xhr.addEventListener("load", function () {
      if (xhr.status === 200 && xhr.responseURL && xhr.responseURL !== window.location.href) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      label.textContent = "The upload failed; check the connection and try again.";
      form.querySelector("button[type=submit]").disabled = false;
    });
    xhr.send(new FormData(form));
  });
})();
