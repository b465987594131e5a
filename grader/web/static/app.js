// Progressive enhancement for the pages: every form also works without this script.
"use strict";

function csrfToken() {
  const field = document.querySelector('input[name="csrf_token"]');
  return field ? field.value : "";
}

function after(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || response.statusText);
  return response.json();
}

// Upload: send the zip to the API, show its error in place, or go to the new submission's page.
function setUpUpload(form) {
  const input = form.querySelector('input[type="file"]');
  const zone = form.querySelector(".dropzone");
  const box = form.querySelector("#upload-error");
  const button = form.querySelector('button[type="submit"]');
  const maxBytes = Number(form.dataset.maxBytes || 0);
  const show = (message) => {
    box.textContent = message ? message[0].toUpperCase() + message.slice(1) : "";
    box.hidden = !message;
  };
  ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault(); zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) { input.files = event.dataTransfer.files; show(""); }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) { show("Choose your submission zip first (or drag it onto the box)."); return; }
    if (maxBytes && file.size > maxBytes) {
      show(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the limit is ${(maxBytes / 1048576).toFixed(0)} MB.`);
      return;
    }
    const body = new FormData();
    body.append("file", file, file.name);
    button.disabled = true; button.textContent = "Uploading…"; show("");
    try {
      const response = await fetch(form.dataset.api, {
        method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken() },
      });
      const answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
      if (response.status === 201) { window.location.assign(`/submissions/${answer.id}`); return; }
      show(answer.error || `the upload failed (${response.status})`);
    } catch (error) {
      show(`The upload did not reach the server (${error.message}); check your connection and try again.`);
    } finally {
      button.disabled = false; button.textContent = "Submit";
    }
  });
}

// A submission's status, live: queued (with its place) -> running -> graded; then the page shows the results.
async function pollSubmission(panel) {
  const status = panel.querySelector("#status");
  const position = panel.querySelector("#position");
  for (;;) {
    await after(1000);
    let view;
    try { view = await getJson(panel.dataset.poll); } catch (error) { continue; }
    status.textContent = view.status;
    status.className = `badge ${view.status}`;
    position.textContent = view.queue_position ? `— number ${view.queue_position} in the queue` : "";
    if (!["queued", "deferred", "running"].includes(view.status)) { window.location.reload(); return; }
  }
}

// A progress bar, filled from a job's counts until it is done: a regrade batch (its submissions' states), or
// a similarity check (data-progress-kind="similarity": its stage; the page reloads to show the pairs).
async function pollProgress(box) {
  const bar = box.querySelector("progress");
  const label = box.querySelector(".progress-label");
  const similarity = box.dataset.progressKind === "similarity";
  for (;;) {
    let job;
    try { job = await getJson(box.dataset.progress); } catch (error) { await after(1000); continue; }
    bar.max = Math.max(job.total, 1);
    if (similarity) {
      bar.value = job.total ? job.done : 0;
      label.textContent = `${job.stage || job.status}: ${job.done} of ${job.total} (${job.percent}%)`;
      if (job.finished) { window.location.reload(); return; }
    } else {
      bar.value = job.total ? job.done : 1;
      label.textContent = `${job.done} of ${job.total} done (${job.percent}%): ${job.graded} graded, ` +
        `${job.failed} could not be graded, ${job.running} running, ${job.queued} waiting`;
      if (job.finished) { box.classList.add("finished"); box.dataset.finished = "yes"; return; }
    }
    await after(1000);
  }
}

// A release gate that is still running: reload once it ends, to show its report.
async function pollGate(box) {
  for (;;) {
    await after(2000);
    try {
      const gate = await getJson(box.dataset.gate);
      if (gate.status !== "running") { window.location.reload(); return; }
    } catch (error) { /* keep waiting */ }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form.upload").forEach(setUpUpload);
  document.querySelectorAll("[data-poll]").forEach((panel) => {
    if (panel.dataset.waiting === "yes") pollSubmission(panel);
  });
  document.querySelectorAll("[data-progress]").forEach(pollProgress);
  document.querySelectorAll("[data-gate]").forEach(pollGate);
  document.querySelectorAll("[data-confirm]").forEach((form) => form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  }));
});
