// A job's admin page follows the job while it is queued or running: every two seconds it asks the
// job's progress view for the figures and the log lines after the last one shown, and stops once
// the job has ended. No inline script (the CSP forbids it); the page carries the URL on the log.
"use strict";
function followJob() {
  const log = document.querySelector("ol.job-log");
  if (!log || !log.dataset.active) return;
  const url = log.dataset.url;
  let last = Number(log.dataset.last || 0);

  function setText(selector, text) {
    document.querySelectorAll(selector).forEach((el) => { el.textContent = text; });
  }

  function addLine(line) {
    const item = document.createElement("li");
    item.className = "job-log-" + line.level;
    item.dataset.id = String(line.id);
    const time = document.createElement("time");
    time.textContent = line.time;
    item.append(time, " " + line.message);
    if (line.link) {
      const link = document.createElement("a");
      link.href = line.link;
      link.textContent = line.link_text;
      item.append(" ", link);
    }
    log.append(item);
    last = line.id;
  }

  function show(data) {
    document.querySelectorAll("progress.job-progress").forEach((bar) => {
      bar.max = data.total || 1;
      bar.value = data.done;
    });
    setText(".job-figure", data.done + " / " + data.total + " (" + data.percent + "%)");
    setText(".job-eta", data.eta);
    setText(".field-message .readonly", data.message);
    setText(".field-status .readonly", data.status_display);
    if (data.error) setText(".field-error .readonly", data.error);
    data.log.forEach(addLine);
    document.body.dataset.jobStatus = data.status;
    if (!data.active) {
      document.querySelectorAll("form.job-cancel").forEach((form) => form.remove());
    }
    return data.active;
  }

  function poll() {
    fetch(url + "?after=" + last, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((data) => { if (show(data)) window.setTimeout(poll, 2000); })
      .catch(() => window.setTimeout(poll, 5000));
  }
  window.setTimeout(poll, 2000);
}
// The admin loads its media in <head>, before the page it follows exists.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", followJob);
else followJob();
