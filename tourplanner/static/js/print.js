/* The print page's "Print" button. It lives here rather than in an onclick attribute because the
   Content-Security-Policy allows no inline script; the button stays hidden without JavaScript,
   where the browser's own print command still works. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll(".print-button"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
