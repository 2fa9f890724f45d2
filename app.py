"""Case Review Workbench: configure the page and navigate; every page is thin layout over workbench/."""

import streamlit as st

st.set_page_config(page_title="Case Review Workbench", page_icon=":material/groups:", layout="wide")

pages = {
    "Workbench": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
}
st.navigation(pages).run()
