/* Day-trip planner: enhances the server-rendered form and plan pages (vanilla JS, no build).
   Without JavaScript both pages still work through plain form posts; with it, planning and
   re-planning go through /api/v1/plans and the browser moves to the new plan's stable URL. */
(function () {
  "use strict";

  var CATEGORY_PREFIX = "interest-";

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
  function intOrNull(v) { v = String(v || "").replace(/[.,\s]/g, ""); return v === "" ? null : Number(v); }

  function setBusy(on) {
    var busy = $("#plan-busy");
    if (busy) { busy.hidden = !on; }
    $all("button[type=submit]").forEach(function (b) { b.disabled = on; });
  }

  function showError(el, message, field) {
    if (!el) { return; }
    el.textContent = message;
    el.hidden = false;
    $all("[aria-invalid]").forEach(function (x) { x.removeAttribute("aria-invalid"); });
    if (field) {
      var name = field.split(".")[0] === "party" ? "adults" : field.replace(/^start\./, "").replace(/^interests\./, CATEGORY_PREFIX);
      var input = document.getElementsByName(name)[0];
      if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    }
  }

  /* POST a plan request; on success go to the plan's page, else show the error. */
  function submitPlan(body, errorEl) {
    setBusy(true);
    return fetch("/api/v1/plans", {
      method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (res) {
      if (res.ok) { window.location.assign(res.data.url); return; }
      setBusy(false);
      var err = res.data.error || {};
      showError(errorEl, err.message || "Error", (err.details || {}).field);
    }).catch(function () {
      setBusy(false);
      showError(errorEl, "Network error");
    });
  }

  /* ---------------------------------------------------------------- the planner form */
  function formRequest(form) {
    var f = form.elements;
    var kind = (form.querySelector("input[name=start_kind]:checked") || {}).value || "landmark";
    var start;
    if (kind === "point") { start = { lat: parseFloat(f.lat.value), lon: parseFloat(f.lon.value) }; }
    else if (kind === "address") { start = { address: f.address.value }; }
    else { start = { landmark: f.landmark.value }; }
    var interests = {};
    $all("select[name^='" + CATEGORY_PREFIX + "']", form).forEach(function (s) {
      if (s.value !== "") { interests[s.name.slice(CATEGORY_PREFIX.length)] = parseFloat(s.value); }
    });
    function selected(name) {
      return Array.prototype.slice.call(f[name].selectedOptions || []).map(function (o) { return o.value; });
    }
    var body = {
      start: start, date: f.date.value, start_time: f.start_time.value, end_time: f.end_time.value,
      mode: f.mode.value,
      party: { adults: intOrNull(f.adults.value) || 0, children: intOrNull(f.children.value) || 0,
               seniors: intOrNull(f.seniors.value) || 0 },
      interests: interests, must_include: selected("must_include"), exclude: selected("exclude"),
      max_stops: intOrNull(f.max_stops.value), alternatives: intOrNull(f.alternatives.value),
      pace: (form.querySelector("input[name=pace]:checked") || {}).value || "balanced",
      max_travel_minutes: intOrNull(f.max_travel_minutes.value),
      lang: document.documentElement.lang || "vi"
    };
    var budget = intOrNull(f.budget_vnd.value);
    if (budget !== null) { body.budget_vnd = budget; }
    if (isNaN(start.lat) && kind === "point") { body.start = { lat: null, lon: null }; }
    return body;
  }

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
    if (!window.fetch) { return; }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      submitPlan(formRequest(form), $("#form-error"));
    });
  }

  /* ---------------------------------------------------------------- the plan page */
  function planData() {
    var el = $("#plan-data");
    return el ? JSON.parse(el.textContent) : null;
  }

  function changedRequest(stored, form) {
    var req = JSON.parse(JSON.stringify(stored));
    delete req.start_point;
    req.lang = document.documentElement.lang || req.lang;
    var f = form.elements;
    var remove = f.remove && f.remove.value, add = f.add && f.add.value;
    if (remove) {
      req.must_include = (req.must_include || []).filter(function (s) { return s !== remove; });
      if ((req.exclude || []).indexOf(remove) < 0) { req.exclude = (req.exclude || []).concat([remove]); }
    }
    if (add) {
      req.exclude = (req.exclude || []).filter(function (s) { return s !== add; });
      if ((req.must_include || []).indexOf(add) < 0) { req.must_include = (req.must_include || []).concat([add]); }
    }
    if (f.pace && f.pace.value) {
      req.pace = f.pace.value;
      req.max_travel_minutes = intOrNull(f.max_travel_minutes.value);
    }
    if (f.start_time && f.start_time.value) { req.start_time = f.start_time.value; }
    return req;
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
          return L.marker(latlng, { icon: L.divIcon({ className: "stop-number", html: textElement("span", label), iconSize: [26, 26] }) });
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

  function messages() {
    var el = $("#planner-messages");
    return el ? JSON.parse(el.textContent) : {};
  }

  function initPlan() {
    var data = planData();
    if (!data) { return; }
    if (data.count) { drawItinerary(0); }
    $all(".show-on-map").forEach(function (b) {
      b.addEventListener("click", function () { drawItinerary(Number(b.dataset.index)); });
    });
    if (!window.fetch) { return; }
    $all(".replan-form").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var err = $("#plan-error");
        submitPlan(changedRequest(data.request, form), err).then(function () {
          if (err && !err.hidden) { err.textContent = (messages().planning_failed || "") + " " + err.textContent; }
        });
      });
    });
  }

  initForm();
  initPlan();
})();
