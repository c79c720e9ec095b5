// Model page: the try-it form (V2 inference on the shown version) and the copy buttons.
"use strict";

function shapeOf(value) {
  const shape = [];
  let level = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

function tensorFrom(textarea) {
  let value;
  try {
    value = JSON.parse(textarea.value);
  } catch (err) {
    throw new Error(`${textarea.name}: not valid JSON (${err.message})`);
  }
  if (!Array.isArray(value)) value = [value];
  if (!Array.isArray(value[0])) value = [value];
  return {
    name: textarea.name,
    datatype: textarea.dataset.datatype,
    shape: shapeOf(value),
    data: value.flat(Infinity),
  };
}

function showOutputs(outputs) {
  const body = document.querySelector("#tryit-outputs tbody");
  body.replaceChildren();
  for (const output of outputs) {
    const row = document.createElement("tr");
    row.className = "tryit-output";
    row.dataset.name = output.name;
    for (const [cls, text] of [
      ["name", output.name],
      ["datatype", output.datatype],
      ["shape", JSON.stringify(output.shape)],
      ["data", JSON.stringify(output.data)],
    ]) {
      const cell = document.createElement("td");
      cell.className = cls;
      cell.textContent = text;
      row.appendChild(cell);
    }
    body.appendChild(row);
  }
  document.getElementById("tryit-result").hidden = false;
}

async function runTryIt(event) {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById("tryit-error");
  error.hidden = true;
  let request;
  try {
    if (form.elements.mode && form.elements.mode.value === "generate") {
      request = {
        inputs: [],
        parameters: {
          seed: parseInt(form.elements.seed.value, 10),
          num_samples: parseInt(form.elements.num_samples.value, 10),
        },
      };
    } else {
      request = { inputs: [...form.querySelectorAll(".tryit-input")].map(tensorFrom) };
    }
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
    return;
  }
  const answer = await postForAnswer(
    form.dataset.url,
    JSON.stringify(request),
    { "Content-Type": "application/json" },
    error,
  );
  if (answer) showOutputs(answer.outputs);
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("tryit-form");
  if (form) form.addEventListener("submit", runTryIt);
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const code = document.getElementById(button.dataset.target);
      try {
        await navigator.clipboard.writeText(code.textContent);
        button.textContent = "Copied";
      } catch (err) {
        const range = document.createRange();
        range.selectNodeContents(code);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
    });
  }
});
