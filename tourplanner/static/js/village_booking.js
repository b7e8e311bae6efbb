/* The village page's booking calendar: tapping a day with places picks its first session
   with room in the form below (the form works without this: its list has every session). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll(".book-calendar"), function (box) {
    var picker = box.querySelector(".session-picker");
    if (!picker) { return; }
    Array.prototype.forEach.call(box.querySelectorAll(".calendar li[data-slot]"), function (day) {
      day.tabIndex = 0;
      day.setAttribute("role", "button");
      function pick() {
        picker.value = day.dataset.slot;
        picker.focus();
        Array.prototype.forEach.call(box.querySelectorAll(".calendar .picked"), function (x) { x.classList.remove("picked"); });
        day.classList.add("picked");
      }
      day.addEventListener("click", pick);
      day.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(); } });
    });
  });
})();
