// Contributions page: uploads an ONNX file (and its test data) to
// POST /api/models/NAME/contributions with the session and the CSRF header, then opens the
// new contribution's page, where the server's checks are shown.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("contribute-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("contribute-error");
    error.hidden = true;
    const body = new FormData();
    body.append("model", form.elements.model.files[0], "model.onnx");
    if (form.elements.test_data.files.length) {
      body.append("test_data", form.elements.test_data.files[0], "test_data.npz");
    }
    const text = { title: form.elements.title.value };
    if (form.elements.description.value) text.description = form.elements.description.value;
    if (form.elements.signature_change.value) {
      text.signature_change = form.elements.signature_change.value;
    }
    body.append("contribution", new Blob([JSON.stringify(text)], { type: "application/json" }));
    const button = document.getElementById("contribute-submit");
    button.disabled = true;
    try {
      const answer = await postForAnswer(form.dataset.url, body, {}, error);
      if (answer) window.location.assign(form.dataset.page + answer.id);
    } finally {
      button.disabled = false;
    }
  });
});
