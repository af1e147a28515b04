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
    // Beside Save changes, where the user is when they save (cells are marked in the grid).
    var actions = form.querySelector(".dd-edit-actions");
    if (actions) { actions.parentNode.insertBefore(this.message, actions); }
    else { form.parentNode.insertBefore(this.message, form); }
    this.rows = Array.prototype.slice.call(form.querySelectorAll("tbody tr[data-row]"));
    this.inputs = Array.prototype.slice.call(form.querySelectorAll(".dd-cell-input"));
    this.changed = new Set();
    this.saving = false;
    var self = this;
    // Each input's hidden twin holds the value it was loaded with (o3-lot_number for r3-...).
    var loaded = {};
    form.querySelectorAll('input[type=hidden][name^="o"]').forEach(function (hidden) {
      loaded[hidden.name] = hidden;
    });
    this.inputs.forEach(function (input) {
      input.ddLoaded = loaded["o" + input.name.slice(1)] || null;
      input.addEventListener("input", function () { self.refresh(input); });
      input.addEventListener("change", function () { self.refresh(input); });
      input.addEventListener("keydown", function (event) { self.key(event, input); });
      self.mark(input);
    });
    this.count();
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

  GridEditor.prototype.isChanged = function (input) {
    return valueOf(input) !== (input.ddLoaded ? input.ddLoaded.value : "");
  };

  // Mark one cell as changed or not, keeping the set of changed cells up to date.
  GridEditor.prototype.mark = function (input) {
    var changed = this.isChanged(input);
    input.closest("td").classList.toggle("dd-changed", changed);
    if (changed) { this.changed.add(input); } else { this.changed.delete(input); }
  };

  GridEditor.prototype.refresh = function (input) {
    this.mark(input);
    this.count();
  };

  GridEditor.prototype.changedCount = function () {
    return this.changed.size;
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
      target = this.cellAt(rowIndex, event.shiftKey ? -1 : 1, input);
    } else if (event.key === "ArrowDown" && input.tagName !== "SELECT") {
      target = this.cellAt(rowIndex, 1, input);
    } else if (event.key === "ArrowUp" && input.tagName !== "SELECT") {
      target = this.cellAt(rowIndex, -1, input);
    } else if (event.key === "ArrowRight" && (!isText || input.selectionEnd === input.value.length)) {
      target = cells[col + 1] || this.edgeOf(rowIndex, 1);
    } else if (event.key === "ArrowLeft" && (!isText || input.selectionStart === 0)) {
      target = cells[col - 1] || this.edgeOf(rowIndex, -1);
    }
    if (target) {
      event.preventDefault();
      target.focus();
      if (target.select && target.tagName === "INPUT" && !isCheckbox(target)) { target.select(); }
    }
  };

  // The same column in the next row up or down that has inputs (read-only rows have none).
  GridEditor.prototype.cellAt = function (rowIndex, step, input) {
    var selector = '.dd-cell-input[data-column="' + input.getAttribute("data-column") + '"]';
    for (var i = rowIndex + step; i >= 0 && i < this.rows.length; i += step) {
      var found = this.rows[i].querySelector(selector);
      if (found) { return found; }
    }
    return null;
  };

  // The first input of the next editable row, or the last of the previous one.
  GridEditor.prototype.edgeOf = function (rowIndex, step) {
    for (var i = rowIndex + step; i >= 0 && i < this.rows.length; i += step) {
      var cells = this.rows[i].querySelectorAll(".dd-cell-input");
      if (cells.length) { return cells[step < 0 ? cells.length - 1 : 0]; }
    }
    return null;
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
          if (input.ddLoaded) { input.ddLoaded.value = data.loaded[column]; }
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
    this.inputs.forEach(function (input) { self.mark(input); });
    this.count();
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
