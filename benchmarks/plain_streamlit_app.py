"""Baseline for the dashboard benchmark: plain Streamlit drawing one Plotly chart per selected item."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

items = [f"ITEM-{i:04d}" for i in range(200)]
item = st.selectbox("Patient", items, key="case_patient_select")
rng = np.random.default_rng(abs(hash(item)) % 2**32)
values = rng.normal(size=4)
st.subheader(item)
st.plotly_chart(go.Figure(go.Bar(x=["a", "b", "c", "d"], y=values), layout={"title": item}), key="comparison_chart")
