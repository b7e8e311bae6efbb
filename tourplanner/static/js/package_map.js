/* Package pages (builder and public): the route of every day on one Leaflet map, one colour a
   day, numbered stops. The data is the page's JSON block #package-map-data
   ({"days": [{"number", "start": {"lat", "lon", "label"}, "stops": [{"lat", "lon", "title",
   "time"}]}]}), written by the server; the page lists every day and stop in text, so the map is
   an enhancement. Labels are set with textContent, never as HTML (titles come from villages,
   labels from agencies). */
(function () {
  "use strict";
  var COLOURS = ["#9a3412", "#1d4ed8", "#15803d", "#7e22ce", "#b45309"];
  function textElement(tag, text) {
    var node = document.createElement(tag);
    node.textContent = text == null ? "" : String(text);
    return node;
  }
  var el = document.getElementById("package-map");
  var dataEl = document.getElementById("package-map-data");
  if (!el || !dataEl || typeof L === "undefined") { return; }
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(el, { scrollWheelZoom: false });
  L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution }).addTo(map);
  var bounds = [], count = 0;
  (data.days || []).forEach(function (day, i) {
    var colour = COLOURS[i % COLOURS.length];
    var line = [];
    if (day.start && day.start.lat != null) {
      var home = [day.start.lat, day.start.lon];
      line.push(home);
      L.marker(home, { icon: L.divIcon({ className: "stop-number", html: textElement("span", "★"), iconSize: [26, 26] }) })
        .addTo(map).bindPopup(textElement("span", day.start.label));
    }
    (day.stops || []).forEach(function (stop, n) {
      if (stop.lat == null) { return; }
      var at = [stop.lat, stop.lon];
      line.push(at);
      count += 1;
      var icon = L.divIcon({ className: "stop-number", html: textElement("span", day.number + "." + (n + 1)), iconSize: [34, 26] });
      L.marker(at, { icon: icon }).addTo(map)
        .bindPopup(textElement("span", day.number + "." + (n + 1) + " " + (stop.time ? stop.time + " " : "") + stop.title));
    });
    if (line.length > 1) {
      line.push(line[0]);
      L.polyline(line, { color: colour, weight: 4, opacity: 0.8 }).addTo(map);
    }
    bounds = bounds.concat(line);
  });
  if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20] }); } else { map.setView([21.03, 105.85], 10); }
  el.dataset.loaded = String(count);
})();
