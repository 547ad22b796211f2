"""The passes, in pipeline order (see srcgrad/pipeline.py, where the order is written once):

desugar   -> exits (break/continue/return) become flags, one assignment form
lower     -> ANF + SSA in a small typed IR (srcgrad/ir.py), helpers inlined
activity  -> which values depend on the differentiated inputs and reach the output
reverse   -> the fused forward + adjoint function, as a Python AST with provenance
collect   -> (called by reverse) like terms of one line's adjoint merged, unread adjoints dropped
"""
