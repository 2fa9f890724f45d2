"""Case Review Workbench: configure the page, gate on sign-in, navigate. Pages are thin layout."""

import streamlit as st

from ui.auth import current_actor, sign_in_page, sign_out_button
from ui.resources import start_warm_up

st.set_page_config(page_title="Case Review Workbench", page_icon=":material/groups:", layout="wide")

actor = current_actor()
if actor is None:
    st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/login:")]).run()
else:
    start_warm_up()
    sign_out_button(actor)
    pages = {
        "Meeting": [
            st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("pages/meetings.py", title="Meetings & worklist", icon=":material/event:"),
            st.Page("pages/case.py", title="Case review", icon=":material/compare:"),
            st.Page("pages/decision.py", title="Decision", icon=":material/gavel:"),
        ],
        "Models & data": [
            st.Page("pages/model.py", title="Model & data", icon=":material/monitoring:"),
            st.Page("pages/equity.py", title="Equity monitor", icon=":material/balance:"),
            st.Page("pages/import_data.py", title="Import", icon=":material/upload:"),
        ],
        "Governance": [
            st.Page("pages/privacy.py", title="Privacy & audit", icon=":material/shield_person:"),
            st.Page("pages/admin.py", title="Accounts", icon=":material/manage_accounts:"),
        ],
    }
    st.navigation(pages).run()
