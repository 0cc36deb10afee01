// The page-wide error (role=alert) and notice lines under the top bar.

const error = () => document.getElementById("error");
const notice = () => document.getElementById("notice");
let noticeTimer;

export function showError(err) {
  if (err && err.status === 401) return; // the sign-in form has taken the page and says so itself
  const text = err && err.title ? `${err.title}: ${err.description}` : String(err);
  error().textContent = text;
  error().hidden = false;
}

export function clearError() {
  error().hidden = true;
  error().textContent = "";
}

export function notify(text) {
  notice().textContent = text;
  notice().hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice().hidden = true; }, 5000);
}
