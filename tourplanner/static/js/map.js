/* Village maps with Leaflet (served from our own static files).
   The tile URL comes from configuration; if tiles cannot load, the page still lists every
   village, so the map is an enhancement, never the only way in.
   Only villages with a sourced position are on the map (the GeoJSON holds no others).
   Popups get DOM nodes whose text is set with textContent, never HTML strings: Leaflet parses a
   string popup as HTML, and names come from the catalogue (and, through it, from villages). */
(function () {
  "use strict";
  function textElement(tag, text) {
    var node = document.createElement(tag);
    node.textContent = text == null ? "" : String(text);
    return node;
  }
  var el = document.getElementById("map");
  var map;
  // A village's display space and sales points (only those with a stated position).
  function addPlaces(points, village) {
    points.forEach(function (p) {
      var label = document.createElement("span");
      label.appendChild(textElement("strong", p.name));
      if (village) { label.appendChild(textElement("span", " · " + village)); }
      L.circleMarker([p.lat, p.lon], { radius: 7, color: "#9a3412" })
        .addTo(map).bindPopup(label);
    });
    return points.length;
  }
  if (!el || typeof L === "undefined") { return; }
  map = L.map(el, { scrollWheelZoom: false });
  L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution }).addTo(map);

  if (el.dataset.geojson) {
    var lang = el.dataset.lang || "vi";
    fetch(el.dataset.geojson).then(function (r) { return r.json(); }).then(function (fc) {
      var layer = L.geoJSON(fc, {
        onEachFeature: function (f, marker) {
          var p = f.properties;
          var name = lang === "en" ? p.name_en : p.name_vi;
          var link = textElement("a", name);
          link.href = p.page_url;
          marker.bindPopup(link);
          addPlaces(p.places || [], name);
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [20, 20] });
      el.dataset.loaded = String(fc.features.length);
    });
  } else {
    var pos = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    map.setView(pos, 13);
    L.marker(pos).addTo(map).bindPopup(textElement("strong", el.dataset.name));
    // The village's display space and sales points that have a stated position.
    var points = el.dataset.points ? JSON.parse(el.dataset.points) : [];
    el.dataset.loaded = String(1 + addPlaces(points, null));
  }
})();
