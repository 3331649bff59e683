// The assistant form's model picker: the datalist of the model field offers the models the
// chosen connection's server lists (GET /models through the admin's JSON view); a server
// without /models leaves a plain text field.
"use strict";

(function () {
  function fill(datalist, models) {
    datalist.replaceChildren(
      ...(models || []).map((id) => {
        const option = document.createElement("option");
        option.value = id;
        return option;
      }),
    );
  }

  async function refresh(select, datalist) {
    fill(datalist, []);
    if (!select.value) return;
    const url = `${datalist.dataset.url}?connection=${encodeURIComponent(select.value)}`;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) fill(datalist, (await response.json()).models);
    } catch {
      // No list: the field stays free text.
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const select = document.getElementById("id_connection");
    const datalist = document.getElementById("connection-models");
    if (!select || !datalist) return;
    select.addEventListener("change", () => refresh(select, datalist));
    refresh(select, datalist);
  });
})();
