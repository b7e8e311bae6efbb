/* Village back-office: fill a place's latitude and longitude by clicking the map.
   Nothing is ever filled in without a click: the map only writes the point the staff chose,
   into the two fields they can still read and correct. Without this script (or without map
   tiles) the fields are typed by hand. */
(function () {
  "use strict";
  var el = document.getElementById("place-map");
  if (!el || typeof L === "undefined") { return; }
  var note = document.getElementById("place-map-note");
  var map = null, marker = null, target = null;

  function field(prefix, key) { return document.getElementById(prefix + key); }

  function show(prefix) {
    target = prefix;
    el.hidden = false;
    note.hidden = false;
    note.textContent = el.dataset.hint;
    if (!map) {
      map = L.map(el, { scrollWheelZoom: false });
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
      map.on("click", function (e) {
        if (!target) { return; }
        field(target, "lat").value = e.latlng.lat.toFixed(6);
        field(target, "lon").value = e.latlng.lng.toFixed(6);
        if (marker) { marker.setLatLng(e.latlng); } else { marker = L.marker(e.latlng).addTo(map); }
      });
    }
    var lat = parseFloat((field(prefix, "lat").value || "").replace(",", "."));
    var lon = parseFloat((field(prefix, "lon").value || "").replace(",", "."));
    var has = isFinite(lat) && isFinite(lon);
    var centre = has ? [lat, lon] : [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    map.setView(centre, has ? 17 : 14);
    if (marker) { map.removeLayer(marker); marker = null; }
    if (has) { marker = L.marker(centre).addTo(map); }
    map.invalidateSize();
    el.scrollIntoView({ behavior: "smooth", block: "center" });
  }

  document.querySelectorAll(".position").forEach(function (box) {
    var button = box.querySelector(".pick-on-map");
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () { show(box.dataset.prefix); });
  });
})();
