// The page's router: #/ (optionally ?status=&page=) is the front page with the task list,
// #/tasks/<id> one task. Any 401 replaces the view with the sign-in form; signing in comes back
// to the page that asked.

import { SIGN_IN_EVENT } from "./api.js";
import { clearError } from "./messages.js";
import { showList } from "./list.js";
import { showTask } from "./task.js";
import { signInForm, signOutControl } from "./signin.js";

const TASK_PATH = /^\/tasks\/([0-9a-fA-F-]{36})$/;
let current = null;
let signingIn = false;

function route() {
  if (current) current.stop();
  signingIn = false;
  clearError();
  const [path, query] = location.hash.slice(1).split("?");
  const view = document.getElementById("view");
  const match = TASK_PATH.exec(path || "");
  document.title = "facetasks";
  current = match ? showTask(view, match[1]) : showList(view, new URLSearchParams(query || ""));
  window.scrollTo(0, 0);
}

function signIn() {
  if (signingIn) return;
  signingIn = true;
  if (current) current.stop();
  current = null;
  clearError();
  document.title = "Sign in · facetasks";
  document.getElementById("view").replaceChildren(signInForm(() => { signOut.refresh(); route(); }));
}

const signOut = signOutControl(() => route());
document.querySelector(".topbar nav").append(signOut.el);

// Files dropped next to the drop zone would otherwise open in the tab and leave the page.
for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());
window.addEventListener("hashchange", route);
window.addEventListener(SIGN_IN_EVENT, signIn);
route();
