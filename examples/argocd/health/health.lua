-- Argo CD health check for automq.io AutoMQCluster and TableTopic (Argo CD runs Lua 5.1).
-- Healthy only when Ready=True for the current generation; Progressing while deleting, while the
-- operator has not caught up with the spec, or while brokers roll; Degraded with the message.
local hs = {}
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting"
  if obj.metadata.finalizers ~= nil and #obj.metadata.finalizers > 0 then
    hs.message = "Deleting; waiting for finalizers: " .. table.concat(obj.metadata.finalizers, ", ")
  end
  return hs
end
local generation = obj.metadata and obj.metadata.generation or 0
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile"
  return hs
end
if obj.status.observedGeneration == nil or obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile generation " .. tostring(generation)
  return hs
end
local ready, degraded, progressing = nil, nil, nil
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c end
  if c.type == "Degraded" then degraded = c end
  if c.type == "Progressing" then progressing = c end
end
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = degraded.message or degraded.reason
  return hs
end
if ready ~= nil and ready.status == "True" and (ready.observedGeneration == nil or ready.observedGeneration == generation) then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if progressing ~= nil and progressing.status == "True" then
  hs.status = "Progressing"
  hs.message = progressing.message or progressing.reason
  return hs
end
if ready ~= nil and ready.status == "False" and ready.reason ~= "BrokersNotReady" then
  hs.status = "Degraded"
  hs.message = ready.message or ready.reason
  return hs
end
hs.status = "Progressing"
hs.message = (ready and (ready.message or ready.reason)) or "Waiting for Ready"
return hs
