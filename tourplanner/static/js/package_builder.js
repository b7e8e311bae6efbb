/* The package builder: a change of a stop's lock box saves the day's stops at once (the same
   form and button as without JavaScript, where the agency presses "Save the locks"). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("form.stops-form"), function (form) {
    var save = form.querySelector("button[name=op][value=save]");
    Array.prototype.forEach.call(form.querySelectorAll("input[name=locked]"), function (box) {
      box.addEventListener("change", function () {
        if (save && form.requestSubmit) { form.requestSubmit(save); } else if (save) { save.click(); }
      });
    });
  });
})();
