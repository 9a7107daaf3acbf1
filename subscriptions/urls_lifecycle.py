"""Pages of trials and customer requests, included under ``subscriptions/`` as "lifecycle"."""

from django.urls import path

from subscriptions import views_requests, views_trials

app_name = "lifecycle"

urlpatterns = [
    path("trials/", views_trials.TrialListView.as_view(), name="trial_list"),
    path("trials/new/", views_trials.trial_create, name="trial_create"),
    path("trials/<int:pk>/extend/", views_trials.trial_extend, name="trial_extend"),
    path("trials/<int:pk>/upgrade/", views_trials.trial_upgrade, name="trial_upgrade"),
    path("requests/", views_requests.RequestQueueView.as_view(), name="request_queue"),
    path("requests/<int:pk>/", views_requests.request_decide, name="request_decide"),
]
