// Editable grids: keyboard moves between cells, changed cells are marked and counted, leaving
// with unsaved changes asks first, and Save sends only the changed cells in the background.
// Progressive enhancement only: without this file the grid is a plain form that saves too.
(function () {
  "use strict";

  function isCheckbox(input) { return input.type === "checkbox"; }

  function valueOf(input) {
    if (isCheckbox(input)) { return input.checked ? "y" : ""; }
    return input.value;
  }

  function setValue(input, text) {
    if (isCheckbox(input)) { input.checked = text === "y"; } else { input.value = text; }
  }

  function GridEditor(form) {
    this.form = form;
    this.status = form.querySelector(".dd-edit-status");
    this.message = document.createElement("div");
    this.message.setAttribute("role", "status");
    this.message.className = "dd-edit-message";
    this.message.hidden = true;
    form.parentNode.insertBefore(this.message, form);
    this.rows = Array.prototype.slice.call(form.querySelectorAll("tbody tr[data-row]"));
    this.saving = false;
    var self = this;
    form.querySelectorAll(".dd-cell-input").forEach(function (input) {
      input.addEventListener("input", function () { self.refresh(input); });
      input.addEventListener("change", function () { self.refresh(input); });
      input.addEventListener("keydown", function (event) { self.key(event, input); });
      self.refresh(input);
    });
    window.addEventListener("beforeunload", function (event) {
      if (!self.saving && self.changedCount() > 0) {
        event.preventDefault();
        event.returnValue = form.getAttribute("data-unsaved") || "";
      }
    });
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (button && button.value !== "save") {
        self.saving = true;  // a bulk set: the server refuses it while cells are unsaved
        return;
      }
      if (!window.fetch || !window.URLSearchParams) { return; }
      event.preventDefault();
      self.save();
    });
  }

  GridEditor.prototype.original = function (input) {
    var hidden = this.form.querySelector('input[type=hidden][name="o' + input.name.slice(1) + '"]');
    return hidden ? hidden.value : "";
  };

  GridEditor.prototype.isChanged = function (input) {
    return valueOf(input) !== this.original(input);
  };

  GridEditor.prototype.refresh = function (input) {
    var cell = input.closest("td");
    cell.classList.toggle("dd-changed", this.isChanged(input));
    this.count();
  };

  GridEditor.prototype.changedCount = function () {
    var self = this;
    var count = 0;
    this.form.querySelectorAll(".dd-cell-input").forEach(function (input) {
      if (self.isChanged(input)) { count += 1; }
    });
    return count;
  };

  GridEditor.prototype.count = function () {
    var count = this.changedCount();
    if (this.status) {
      this.status.textContent = count === 0 ? "No unsaved changes" :
        count + (count === 1 ? " unsaved change" : " unsaved changes");
    }
  };

  // Arrows, Enter and Tab move between cells; a text caret moves inside its text first.
  GridEditor.prototype.key = function (event, input) {
    var row = input.closest("tr");
    var rowIndex = this.rows.indexOf(row);
    var cells = Array.prototype.slice.call(row.querySelectorAll(".dd-cell-input"));
    var col = cells.indexOf(input);
    var isText = input.tagName === "INPUT" && !isCheckbox(input) && input.type !== "date" && input.type !== "number";
    var target = null;
    if (event.key === "Enter") {
      event.preventDefault();
      target = this.cellAt(rowIndex + (event.shiftKey ? -1 : 1), input);
    } else if (event.key === "ArrowDown" && input.tagName !== "SELECT") {
      target = this.cellAt(rowIndex + 1, input);
    } else if (event.key === "ArrowUp" && input.tagName !== "SELECT") {
      target = this.cellAt(rowIndex - 1, input);
    } else if (event.key === "ArrowRight" && (!isText || input.selectionEnd === input.value.length)) {
      target = cells[col + 1] || this.edgeOf(rowIndex + 1, 0);
    } else if (event.key === "ArrowLeft" && (!isText || input.selectionStart === 0)) {
      target = cells[col - 1] || this.edgeOf(rowIndex - 1, -1);
    }
    if (target) {
      event.preventDefault();
      target.focus();
      if (target.select && target.tagName === "INPUT" && !isCheckbox(target)) { target.select(); }
    }
  };

  GridEditor.prototype.cellAt = function (rowIndex, input) {
    var row = this.rows[rowIndex];
    if (!row) { return null; }
    return row.querySelector('.dd-cell-input[data-column="' + input.getAttribute("data-column") + '"]');
  };

  GridEditor.prototype.edgeOf = function (rowIndex, which) {
    var row = this.rows[rowIndex];
    if (!row) { return null; }
    var cells = row.querySelectorAll(".dd-cell-input");
    return cells.length ? cells[which < 0 ? cells.length - 1 : 0] : null;
  };

  // Save: only the changed cells of changed rows, with each row's key and version.
  GridEditor.prototype.save = function () {
    var self = this;
    var body = new URLSearchParams();
    var token = this.form.querySelector("input[name=csrf_token]").value;
    body.append("csrf_token", token);
    body.append("action", "save");
    var changedRows = 0;
    this.rows.forEach(function (row) {
      var index = row.getAttribute("data-row");
      var inputs = Array.prototype.slice.call(row.querySelectorAll(".dd-cell-input"));
      var changed = inputs.filter(function (input) { return self.isChanged(input); });
      if (!changed.length) { return; }
      changedRows += 1;
      body.append("k" + index, row.querySelector('input[name="k' + index + '"]').value);
      body.append("v" + index, row.querySelector('input[name="v' + index + '"]').value);
      changed.forEach(function (input) { body.append(input.name, valueOf(input)); });
    });
    this.clearMarks();
    if (!changedRows) { this.show("Nothing to save: no cell was changed.", false); return; }
    this.show("Saving…", false);
    fetch(this.form.getAttribute("action") || window.location.href, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": token}
    }).then(function (response) {
      return response.json().catch(function () {
        return {ok: false, message: "The server answered " + response.status + "; nothing was saved."};
      });
    }).then(function (answer) {
      self.apply(answer);
    }).catch(function () {
      self.show("The connection failed; nothing was saved. Try again.", true);
    });
  };

  GridEditor.prototype.rowByIndex = function (index) {
    return this.form.querySelector('tbody tr[data-row="' + index + '"]');
  };

  GridEditor.prototype.apply = function (answer) {
    var self = this;
    (answer.rows || []).forEach(function (data) {
      var row = self.rowByIndex(data.index);
      if (!row) { return; }
      if (data.version) {
        // The row as stored now: its version, and the loaded value of each cell. Cells the
        // user did not change take the stored value; changed cells keep the user's input.
        row.querySelector('input[name="v' + data.index + '"]').value = data.version;
        Object.keys(data.loaded || {}).forEach(function (column) {
          var input = row.querySelector('.dd-cell-input[data-column="' + column + '"]');
          if (!input) { return; }
          var untouched = !self.isChanged(input);
          var hidden = row.querySelector('input[type=hidden][name="o' + input.name.slice(1) + '"]');
          if (hidden) { hidden.value = data.loaded[column]; }
          if (answer.ok || untouched) { setValue(input, data.loaded[column]); }
        });
      }
      if (answer.ok) { row.classList.add("dd-row-saved"); }
      if (data.problem) {
        row.classList.add("dd-row-refused");
        self.note(row.querySelector(".dd-row-status"), "dd-row-problem", "Refused: " + data.problem);
      }
      Object.keys(data.errors || {}).forEach(function (column) {
        var input = row.querySelector('.dd-cell-input[data-column="' + column + '"]');
        if (!input) { return; }
        input.setAttribute("aria-invalid", "true");
        input.closest("td").classList.add("dd-error");
        self.note(input.closest("td"), "dd-cell-error", data.errors[column]);
      });
      Object.keys(data.theirs || {}).forEach(function (column) {
        var input = row.querySelector('.dd-cell-input[data-column="' + column + '"]');
        if (input) { self.note(input.closest("td"), "dd-cell-theirs", "Now: " + data.theirs[column]); }
      });
    });
    this.form.querySelectorAll(".dd-cell-input").forEach(function (input) { self.refresh(input); });
    var problems = (answer.problems || []).join(" ");
    this.show(answer.message + (problems ? " " + problems : ""), !answer.ok);
  };

  GridEditor.prototype.note = function (parent, className, text) {
    var span = document.createElement(className === "dd-cell-theirs" ? "span" : "strong");
    span.className = className + " dd-js-note";
    span.textContent = text;
    if (className !== "dd-cell-theirs") { span.setAttribute("role", "alert"); }
    parent.appendChild(span);
  };

  GridEditor.prototype.clearMarks = function () {
    this.form.querySelectorAll(".dd-js-note").forEach(function (node) { node.remove(); });
    this.form.querySelectorAll(".dd-error, .dd-row-refused, .dd-row-saved").forEach(function (node) {
      node.classList.remove("dd-error", "dd-row-refused", "dd-row-saved");
    });
    this.form.querySelectorAll("[aria-invalid]").forEach(function (node) {
      node.removeAttribute("aria-invalid");
    });
    // Marks that the server rendered into the page belong to the previous save.
    this.form.querySelectorAll(".dd-cell-error, .dd-cell-theirs, .dd-row-problem, .dd-saved-note")
      .forEach(function (node) { node.remove(); });
  };

  GridEditor.prototype.show = function (text, isError) {
    this.message.hidden = false;
    this.message.className = "alert dd-edit-message " + (isError ? "alert-danger" : "alert-success");
    this.message.setAttribute("role", isError ? "alert" : "status");
    this.message.textContent = text;
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-dd-grid-edit]").forEach(function (form) {
      new GridEditor(form);
    });
  });
})();
