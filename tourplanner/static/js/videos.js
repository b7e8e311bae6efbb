/* Click-to-load video embeds: the page holds only the embed address; the platform's player
   (and its cookies) is requested when the visitor presses play. The iframe is built with DOM
   calls, never from an HTML string. */
(function () {
  "use strict";
  var ALLOWED = /^https:\/\/(www\.youtube-nocookie\.com\/embed\/|www\.facebook\.com\/plugins\/video\.php\?|www\.tiktok\.com\/embed\/v2\/)/;
  document.querySelectorAll("li.video").forEach(function (item) {
    var button = item.querySelector("button.video-load");
    var src = item.dataset.embed;
    if (!button || !src || !ALLOWED.test(src)) { return; }
    button.addEventListener("click", function () {
      var frame = document.createElement("iframe");
      frame.src = src;
      frame.title = item.querySelector(".video-title").textContent;
      frame.setAttribute("allow", "autoplay; encrypted-media; picture-in-picture");
      frame.setAttribute("allowfullscreen", "");
      frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
      frame.className = "video-frame";
      button.replaceWith(frame);
    });
  });
})();
