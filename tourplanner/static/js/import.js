/* The admin import page: the upload shows a progress bar, then the server's row report
   replaces the result area. The report is the server-rendered page (escaped by the templates),
   parsed with DOMParser and moved in as nodes: no HTML is built here from data.
   Without JavaScript the form posts normally and the same report is shown. */
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form || !window.XMLHttpRequest || !window.DOMParser) { return; }
  var bar = document.getElementById("import-progress");
  var status = document.getElementById("import-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    bar.hidden = false; status.hidden = false;
    bar.value = 0; status.textContent = status.dataset.uploading;
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");  // indeterminate while the server checks every row
      status.textContent = status.dataset.checking;
    });
    xhr.addEventListener("load", function () {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var fresh = doc.getElementById("import-result");
      var current = document.getElementById("import-result");
      if (fresh && current) { current.replaceWith(document.adoptNode(fresh)); }
      bar.hidden = true; status.hidden = true;
    });
    xhr.send(new FormData(form));
  });
})();
