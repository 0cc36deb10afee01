// The sign-in form, shown when the API answers 401 (api.js raises the event), and the sign-out
// control in the top bar. The credentials are checked against GET /me before they are kept.

import { api } from "./api.js";
import { forget, store, stored } from "./credentials.js";
import { h } from "./dom.js";
import { clearError } from "./messages.js";

export function signInForm(onSignedIn) {
  const previous = stored();
  const user = h("input", { id: "signin-user", type: "text", name: "username", autocomplete: "username",
    autocapitalize: "none", spellcheck: "false", value: previous ? previous.user : "" });
  const secret = h("input", { id: "signin-secret", type: "password", name: "password",
    autocomplete: "current-password", required: true });
  const problem = h("p", { id: "signin-error", class: "message error", role: "alert", hidden: true });
  const button = h("button", { id: "signin", type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { id: "signin-form", class: "card signin", onsubmit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    store(user.value.trim(), secret.value);
    try {
      const me = await api("GET", "/me");
      clearError();
      onSignedIn(me);
    } catch (err) {
      forget();
      problem.textContent = err.status === 401
        ? "That user name and password or key were not accepted. Check them and try again."
        : `${err.title}: ${err.description}`;
      problem.hidden = false;
      button.disabled = false;
      secret.select();
    }
  } },
  h("h1", {}, "Sign in"),
  h("p", { class: "hint" }, "This service needs credentials. Give your user name and password, or an API key "
    + "(ft_…) alone or with its user's name."),
  h("label", { for: "signin-user" }, "User name"), user,
  h("label", { for: "signin-secret" }, "Password or API key"), secret,
  problem, h("div", { class: "row" }, button));
  setTimeout(() => (user.value ? secret : user).focus(), 0);
  return form;
}

// The top bar's "Sign out", shown only while this tab holds credentials.
export function signOutControl(onSignedOut) {
  const button = h("button", { id: "signout", type: "button", class: "link signout",
    onclick: () => { forget(); refresh(); onSignedOut(); } }, "Sign out");
  const refresh = () => { button.hidden = !stored(); };
  refresh();
  return { el: button, refresh };
}
