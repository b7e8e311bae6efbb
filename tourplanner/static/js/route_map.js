/* A tour route's map (Leaflet from our own static files): numbered stops in the route's order,
   straight lines between them (a dashed line for the second day), the start as a star.
   Names are set with textContent, never as HTML. Without tiles the timeline still says it all. */
(function () {
  "use strict";
  var el = document.getElementById("route-map");
  if (!el || typeof L === "undefined") { return; }
  var data = JSON.parse(el.dataset.route || "{}");
  var lang = el.dataset.lang || "vi";
  var points = data.points || [];
  function label(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }
  var map = L.map(el, { scrollWheelZoom: false });
  L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution }).addTo(map);
  var bounds = [];
  if (data.start) {
    var start = [data.start.lat, data.start.lon];
    L.marker(start, { icon: L.divIcon({ className: "stop-number", html: label("★"), iconSize: [26, 26] }) }).addTo(map);
    bounds.push(start);
  }
  var byDay = {};
  points.forEach(function (p) {
    var pos = [p.lat, p.lon];
    bounds.push(pos);
    (byDay[p.day] = byDay[p.day] || []).push(pos);
    L.marker(pos, { icon: L.divIcon({ className: "stop-number", html: label(p.n), iconSize: [26, 26] }) })
      .addTo(map).bindPopup(label(p.n + ". " + (lang === "en" ? p.name_en : p.name_vi)));
  });
  Object.keys(byDay).forEach(function (day) {
    var line = data.start ? [[data.start.lat, data.start.lon]].concat(byDay[day]) : byDay[day];
    L.polyline(line, { color: "#9a3412", weight: 4, opacity: 0.8, dashArray: day === "1" ? null : "8 6" }).addTo(map);
  });
  if (bounds.length) { map.fitBounds(bounds, { padding: [24, 24] }); }
  el.dataset.loaded = String(points.length);
})();
