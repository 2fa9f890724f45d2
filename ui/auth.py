"""Sign-in at the page edge: the session token lives in Streamlit's session state, roles in the service layer.

When the deployment configures an OpenID Connect provider (``[auth]`` in ``.streamlit/secrets.toml``),
``st.login`` is used instead and the provider's user is mapped to a local account by username/email.
"""

from __future__ import annotations

import streamlit as st

from ui.resources import workbench
from workbench.governance.roles import Actor
from workbench.governance.users import SignInError, actor_for_token, sign_in, sign_out

TOKEN_KEY = "auth_token"  # noqa: S105 - a session-state key name, not a secret


def oidc_configured() -> bool:
    """True when secrets configure an identity provider for ``st.login``."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


def current_actor() -> Actor | None:
    """The signed-in actor, or None (expired sessions count as signed out)."""
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        from workbench.governance.users import actor_for_username

        return actor_for_username(workbench(), str(st.user.get("preferred_username") or st.user.get("email")))
    return actor_for_token(workbench(), st.session_state.get(TOKEN_KEY))


def require_actor() -> Actor:
    """Stop the page unless someone is signed in (patient data never render before this)."""
    actor = current_actor()
    if actor is None:
        st.warning("Please sign in.")
        st.stop()
    return actor


def sign_in_page() -> None:
    """The only page a signed-out browser sees."""
    st.title("Case Review Workbench")
    st.caption("Sign in to review cases. Every view of a patient's case is recorded in the audit trail.")
    if oidc_configured():
        st.button("Sign in with your organisation", key="oidc_login", on_click=st.login)
        return
    with st.form("sign_in"):
        username = st.text_input("Username", key="sign_in_username")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            signed = sign_in(workbench(), username, password)
        except SignInError:
            st.error("Unknown user or wrong password.")
        else:
            st.session_state[TOKEN_KEY] = signed.token
            st.rerun()


def sign_out_button(actor: Actor) -> None:
    """Who is signed in, and the way out."""
    with st.sidebar:
        st.caption(
            f"Signed in as **{actor.display_name or actor.username}** ({actor.role.value.replace('_', ' ')})"
        )
        if st.button("Sign out", key="sign_out"):
            token = st.session_state.pop(TOKEN_KEY, None)
            if token:
                sign_out(workbench(), token)
            if oidc_configured():
                st.logout()
            st.rerun()
