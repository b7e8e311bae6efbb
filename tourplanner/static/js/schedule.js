/* The village schedule editor: add and remove time ranges and closed dates.
   Without JavaScript the form keeps a few empty rows per day instead (the server skips empty
   rows), so everything still works; the add/remove buttons stay hidden. No inline script: the
   Content-Security-Policy forbids it. */
(function () {
  "use strict";

  function isEmpty(row) {
    return Array.prototype.every.call(row.querySelectorAll("input"), function (input) {
      return !input.value;
    });
  }

  function wire(row, changed) {
    var button = row.querySelector(".remove-row");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      row.remove();
      changed();
    });
  }

  function fresh(template, day, changed) {
    var row = template.content.firstElementChild.cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) {
      if (day) input.name = input.name.replace(/^day_/, day + "_");
      input.value = "";
    });
    row.classList.remove("spare");
    wire(row, changed);
    return row;
  }

  function editable(container, rowSelector, template, day, addButton, note) {
    function changed() {
      if (note) note.hidden = container.querySelector(rowSelector) !== null;
    }
    container.querySelectorAll(rowSelector + ".spare").forEach(function (row) {
      if (isEmpty(row)) row.remove();
    });
    container.querySelectorAll(rowSelector).forEach(function (row) {
      wire(row, changed);
    });
    addButton.hidden = false;
    addButton.addEventListener("click", function () {
      var row = fresh(template, day, changed);
      container.appendChild(row);
      row.querySelector("input").focus();
      changed();
    });
    changed();
  }

  document.querySelectorAll(".schedule-editor").forEach(function (section) {
    var ranges = section.querySelector(".range-template");
    var dates = section.querySelector(".date-template");
    section.querySelectorAll(".weekday").forEach(function (weekday) {
      editable(
        weekday.querySelector(".rows"),
        ".range",
        ranges,
        weekday.dataset.day,
        weekday.querySelector(".add-row"),
        weekday.querySelector(".closed-note")
      );
    });
    var closed = section.querySelector("fieldset.closed");
    if (closed) {
      editable(closed.querySelector(".rows"), ".closed-date", dates, null,
               closed.querySelector(".add-date"), null);
    }
  });
})();
