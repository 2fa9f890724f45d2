import pandas as pd
import streamlit as st

from ui.auth import require_actor
from ui.resources import workbench
from workbench.governance.roles import Role, require
from workbench.governance.users import create_user, list_users

actor = require_actor()
wb = workbench()
st.title("Accounts")
try:
    require(actor, "user.manage")
except PermissionError as error:
    st.error(str(error))
    st.stop()
st.dataframe(pd.DataFrame(list_users(wb)), hide_index=True, key="users_table")
with st.form("new_user"):
    username = st.text_input("Username", key="new_username")
    name = st.text_input("Display name", key="new_display_name")
    role = st.selectbox(
        "Role", [r for r in Role if r is not Role.SYSTEM], format_func=lambda r: r.value, key="new_role"
    )
    discipline = st.text_input("Discipline", key="new_discipline")
    password = st.text_input("Initial password", type="password", key="new_password")
    if st.form_submit_button("Create account"):
        try:
            create_user(
                wb,
                actor,
                username=username,
                display_name=name,
                role=role,
                password=password,
                discipline=discipline or None,
            )
        except (ValueError, PermissionError) as error:
            st.error(str(error))
        else:
            st.rerun()
