/* Day-trip planner: enhances the server-rendered form and plan pages (vanilla JS, no build).
   Both pages work through plain form posts (the server plans, or shows every error next to
   its field in the page's language); this adds the start-point map, the route map, a
   "planning" note and the share buttons (copy the link; the Web Share API on phones). */
(function () {
  "use strict";

  /* Every element built from data gets its text through textContent, never through an HTML
     string (Leaflet parses string popups and icons as HTML): names, addresses and titles come
     from tourists and villages. */
  function textElement(tag, text) {
    var node = document.createElement(tag);
    node.textContent = text == null ? "" : String(text);
    return node;
  }

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function setBusy(on) {
    var busy = $("#plan-busy");
    if (busy) { busy.hidden = !on; }
    $all("button[type=submit]").forEach(function (b) { b.disabled = on; });
  }

  /* ---------------------------------------------------------------- the planner form */
  function startKinds(form) {
    function update() {
      var kind = (form.querySelector("input[name=start_kind]:checked") || {}).value || "landmark";
      $all(".field[data-kind]", form).forEach(function (el) { el.hidden = el.dataset.kind !== kind; });
      if (kind === "point") { startMap(); }
    }
    $all("input[name=start_kind]", form).forEach(function (r) { r.addEventListener("change", update); });
    update();
  }

  var pickMap = null;
  function startMap() {
    var el = $("#start-map");
    if (!el || pickMap || typeof L === "undefined") { if (pickMap) { pickMap.invalidateSize(); } return; }
    var lat = parseFloat($("#lat").value) || 21.0288, lon = parseFloat($("#lon").value) || 105.8525;
    pickMap = L.map(el).setView([lat, lon], 11);
    L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution }).addTo(pickMap);
    var marker = L.marker([lat, lon]).addTo(pickMap);
    pickMap.on("click", function (e) {
      marker.setLatLng(e.latlng);
      $("#lat").value = e.latlng.lat.toFixed(5);
      $("#lon").value = e.latlng.lng.toFixed(5);
    });
  }

  function initForm() {
    var form = $("#planner-form");
    if (!form) { return; }
    startKinds(form);
    /* The form posts to the server, which plans, or shows every error next to its field in
       the page's language with what was typed; here only the "planning" note. */
    form.addEventListener("submit", function () { setBusy(true); });
  }

  /* ---------------------------------------------------------------- the plan page */
  function planData() {
    var el = $("#plan-data");
    return el ? JSON.parse(el.textContent) : null;
  }

  var routeMap = null, routeLayer = null;
  function drawItinerary(index) {
    var el = $("#plan-map");
    if (!el || typeof L === "undefined") { return; }
    if (!routeMap) {
      routeMap = L.map(el, { scrollWheelZoom: false });
      L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution }).addTo(routeMap);
    }
    var lang = el.dataset.lang || "vi";
    fetch(el.dataset.geojson + "?itinerary=" + index).then(function (r) { return r.json(); }).then(function (fc) {
      if (routeLayer) { routeMap.removeLayer(routeLayer); }
      routeLayer = L.geoJSON(fc, {
        style: function () { return { color: "#9a3412", weight: 4, opacity: 0.8 }; },
        pointToLayer: function (f, latlng) {
          var label = f.properties.role === "start" ? "★" : String(f.properties.order);
          var shop = f.properties.kind === "shopping" ? " stop-shopping" : "";
          return L.marker(latlng, { icon: L.divIcon({ className: "stop-number" + shop, html: textElement("span", label), iconSize: [26, 26] }) });
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          if (p.role === "stop") {
            layer.bindPopup(textElement("span", p.order + ". " + (lang === "en" ? p.title_en : p.title_vi) + " " + String(p.start || "").slice(11, 16)));
          }
          if (p.role === "start") { layer.bindPopup(textElement("span", lang === "en" ? p.name_en : p.name_vi)); }
        }
      }).addTo(routeMap);
      routeMap.fitBounds(routeLayer.getBounds(), { padding: [20, 20] });
      el.dataset.loaded = String(fc.features.filter(function (x) { return x.properties.role === "stop"; }).length);
      el.dataset.itinerary = String(index);
    });
    $all(".itinerary").forEach(function (card) { card.classList.toggle("selected", card.dataset.index === String(index)); });
  }

  function initPlan() {
    var data = planData();
    if (!data) { return; }
    if (data.count) { drawItinerary(0); }
    $all(".show-on-map").forEach(function (b) {
      b.addEventListener("click", function () { drawItinerary(Number(b.dataset.index)); });
    });
    $all(".replan-form").forEach(function (form) {
      form.addEventListener("submit", function () { setBusy(true); });
    });
    initShare();
  }

  /* ---------------------------------------------------------------- sharing a plan */
  function initShare() {
    var button = $("#share-plan"), copy = $("#copy-plan-link"), note = $("#share-note");
    var url = $("#plan-url");
    if (!url) { return; }
    function said(text) { if (note) { note.textContent = text; note.hidden = false; } }
    if (copy && navigator.clipboard && window.isSecureContext !== false) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(url.href).then(function () { said(copy.dataset.done); },
          function () { said(copy.dataset.failed); });
      });
    }
    if (button && navigator.share) {
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.share({ title: document.title, url: url.href }).catch(function () { /* dismissed */ });
      });
    }
  }

  initForm();
  initPlan();
  /* Back to a page from the history: its buttons work again. */
  window.addEventListener("pageshow", function () { setBusy(false); });
})();
